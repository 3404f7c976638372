"""Review figures prepared by the build: batch checks and batch changes

Revision ID: 0033_prepared_review
Revises: 0032_invoice_pages

Why: at hundreds of thousands of invoices the batch page's month-on-month change per customer and subscription and
its vendor-count walk take seconds each. The build works them out once (``batch_changes``: the changed entries in
integer 10^-4 units, indexed so the page reads the largest first; ``batch_checks``: each figure with the fingerprint
of the ledger state it holds for). Readers fall back to working them out live when that state has moved on, so a
batch built before this migration is shown as before.

Two indexes let the page's other findings answer without walking the batch: a tenant's cost lines by the month they
start in (negative margins), and invoice lines by VAT category (which buyers are billed reverse charge and so need
a VAT id). Both are created in place (no table rebuild), so SQLite keeps the sealing triggers on ``invoice_lines``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0033_prepared_review"
down_revision: str | Sequence[str] | None = "0032_invoice_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "batch_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("per", sa.String(length=12), nullable=False),
        sa.Column("key", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("now_units", sa.BigInteger(), nullable=True),
        sa.Column("before_units", sa.BigInteger(), nullable=True),
        sa.Column("delta_units", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_batch_changes_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_changes")),
    )
    op.create_index("ix_batch_changes_largest", "batch_changes", ["batch_id", "per", "delta_units"], unique=False)
    op.create_table(
        "batch_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("inputs", sa.String(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("checked_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_batch_checks_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_checks")),
        sa.UniqueConstraint("batch_id", "kind", name=op.f("uq_batch_checks_batch_id_kind")),
    )
    op.create_index("ix_cost_lines_tenant_start", "cost_lines", ["tenant_id", "charge_start"], unique=False)
    op.create_index("ix_invoice_lines_vat_category", "invoice_lines", ["vat_category", "invoice_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invoice_lines_vat_category", table_name="invoice_lines")
    op.drop_index("ix_cost_lines_tenant_start", table_name="cost_lines")
    op.drop_table("batch_checks")
    op.drop_index("ix_batch_changes_largest", table_name="batch_changes")
    op.drop_table("batch_changes")
