"""Join the three branches that grew in parallel (sync, batches, exports) into one history

Revision ID: 0005_one_history
Revises: 0002_sync, 0003_batches, 0004_exports
Create Date: 2026-12-02 17:40:00

Why a merge and nothing else: each branch changed different tables, so they apply in any order; from here on every
migration has exactly one parent (tests/ledger/test_migrations.py keeps it so).
"""

from collections.abc import Sequence

revision: str = "0005_one_history"
down_revision: str | Sequence[str] | None = ("0002_sync", "0003_batches", "0004_exports")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
