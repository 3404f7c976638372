"""Sync: snapshots remember the hash of the billing-relevant state they recorded

Revision ID: 0002_sync
Revises: 0001_foundation

Plain ADD COLUMN (not a batch rebuild): SQLite adds a nullable column in place, so the append-only triggers on
snapshots stay untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sync"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("snapshots", sa.Column("state_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("snapshots", "state_hash")
