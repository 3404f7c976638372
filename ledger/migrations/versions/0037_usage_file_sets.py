"""Usage file sets: the files a month of usage lines was summed from, stored once and named by the lines

Revision ID: 0037_usage_file_sets
Revises: 0036_subscription_ranges

Why: with the Parquet usage store, every usage line's lineage listed each day file of its month (31 paths of about
70 characters), over a gigabyte of lineage text a month at hundreds of thousands of lines. A build now stores the
month's files once, with their sha256 and rows as they were summed (``ledger.models.UsageFileSet``), and the lines
name that set. Append-only, like snapshots: it is what billed lines were computed from. Lines built before keep the
file names they list.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types
from ledger import append_only

revision: str = "0037_usage_file_sets"
down_revision: str | Sequence[str] | None = "0036_subscription_ranges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "usage_file_sets"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("created_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_usage_file_sets_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_file_sets")),
        sa.UniqueConstraint("digest", name=op.f("uq_usage_file_sets_digest")),
    )
    append_only.create(op.get_bind(), [TABLE])


def downgrade() -> None:
    append_only.drop(op.get_bind(), [TABLE])
    op.drop_table(TABLE)
