"""Uncertain sends and the ERP duplicate sweep's findings

Revision ID: 0013_uncertain_sends
Revises: 0012_abandoned_runs

Why: a write to the ERP that got no answer (read timeout, dropped connection, a process killed mid-send) may still
land; the outbox marks its row ``uncertain`` and must know since when, to re-create only after a look-up later than
the ERP's longest possible request. The duplicate sweep stores what it finds (several ERP documents for one external
reference) so the finance page can show both ids. A nullable ADD COLUMN and a new table: existing rows stay valid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0013_uncertain_sends"
down_revision: str | Sequence[str] | None = "0012_abandoned_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncertain_since", ledger.types.UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "erp_duplicates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("export_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target", sa.String(length=60), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_erp_duplicates_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_erp_duplicates_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["export_id"], ["exports.id"], name=op.f("fk_erp_duplicates_export_id_exports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_duplicates")),
        sa.UniqueConstraint("target", "external_ref", name=op.f("uq_erp_duplicates_target_external_ref")),
    )
    with op.batch_alter_table("erp_duplicates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erp_duplicates_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erp_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erp_duplicates_tenant_id"))
    op.drop_table("erp_duplicates")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("uncertain_since")
