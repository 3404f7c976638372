"""Invoice delivery outbox and the archive of issued documents

Revision ID: 0017_delivery_archive
Revises: 0020_payments

Why: approved invoices go to customers by e-mail or Peppol exactly once, which needs an outbox of its own
(``deliveries``: one row per invoice and channel, keyed by a reference derived from the invoice), and every file a
customer was sent is kept once, unchangeable (``archived_documents``: the bytes with their SHA-256; UPDATE and
DELETE refused by triggers). Two new tables: nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types
from ledger import append_only

revision: str = "0017_delivery_archive"
down_revision: str | Sequence[str] | None = "0020_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = ledger.types.UtcDateTime(timezone=True)
ARCHIVE = ("archived_documents",)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("message_ref", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", INSTANT, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", INSTANT, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_deliveries_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_deliveries_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("invoice_id", "channel", name=op.f("uq_deliveries_invoice_id_channel")),
        sa.UniqueConstraint("message_ref", name=op.f("uq_deliveries_message_ref")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "archived_documents",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_archived_documents_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_archived_documents_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_documents")),
        sa.UniqueConstraint("invoice_id", "kind", name=op.f("uq_archived_documents_invoice_id_kind")),
    )
    with op.batch_alter_table("archived_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archived_documents_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_archived_documents_tenant_id"), ["tenant_id"], unique=False)
    append_only.create(op.get_bind(), ARCHIVE)


def downgrade() -> None:
    append_only.drop(op.get_bind(), ARCHIVE)
    op.drop_table("archived_documents")
    op.drop_table("deliveries")
