"""Discrepancies as findings with a day range, an amount at stake, an owner and an acknowledgement

Revision ID: 0022_finding_ranges
Revises: 0021_finding_acks

Why: reconciliation used to write one row per subscription per day; a finding is now one row per subscription and
cause (``day`` stays its first day, ``last_day`` is the last), with the money at stake (``amount`` in ``currency``),
the month it belongs to, the person who owns it and who acknowledged it. A finding whose cause went away is closed
by reconcile (``status`` resolved, ``resolved_by`` "reconcile", the reason in ``resolution_note``). All columns are
nullable: rows written before stay valid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0022_finding_ranges"
down_revision: str | Sequence[str] | None = "0021_finding_acks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("last_day", sa.Date()),
    ("month", sa.String(length=7)),
    ("amount", ledger.types.ExactDecimal(length=64)),
    ("currency", sa.String(length=3)),
    ("owner", sa.String(length=40)),
    ("acknowledged_by", sa.String(length=40)),
    ("acknowledged_at", ledger.types.UtcDateTime(timezone=True)),
    ("acknowledgement_note", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("discrepancies", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index(batch_op.f("ix_discrepancies_month"), ["month"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("discrepancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discrepancies_month"))
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
