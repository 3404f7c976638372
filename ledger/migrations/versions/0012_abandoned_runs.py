"""Sync runs record who runs them, so a run whose process died can be closed as abandoned

Revision ID: 0012_abandoned_runs
Revises: 0010_audit_chain

Why: a sync killed mid-way (SIGKILL, a reboot) never finishes its run row, and the operations page listed such runs
as ``running`` for ever. Job runs already record their runner (``host:pid:token``); sync runs now do too, so the next
process can tell a live run from a dead one and mark it ``abandoned`` with when (``finished_at``) and why
(``error``). A plain nullable ADD COLUMN: older rows have no runner and are judged by their age alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_abandoned_runs"
down_revision: str | Sequence[str] | None = "0010_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("runner", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch_op:
        batch_op.drop_column("runner")
