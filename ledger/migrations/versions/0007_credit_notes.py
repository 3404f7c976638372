"""Credit notes: an invoice's document type and the invoice it corrects; a number counter per series

Revision ID: 0007_credit_notes
Revises: 0006_price_book
Create Date: 2026-12-02 21:15:00

Why the counter's key grows: credit notes may have a number range of their own per legal entity, counted gaplessly
apart from the invoices; existing counters are the ``invoice`` series. Existing invoices stay type 380.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_credit_notes"
down_revision: str | Sequence[str] | None = "0006_price_book"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_type", sa.String(length=3), nullable=False, server_default="380"))
        batch_op.add_column(sa.Column("corrects_invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                      nullable=True))
        batch_op.add_column(sa.Column("corrected_invoices", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.create_foreign_key(batch_op.f("fk_invoices_corrects_invoice_id_invoices"), "invoices",
                                    ["corrects_invoice_id"], ["id"])
    with op.batch_alter_table("invoice_number_counters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series", sa.String(length=16), nullable=False, server_default="invoice"))
        batch_op.drop_constraint("pk_invoice_number_counters", type_="primary")
        batch_op.create_primary_key("pk_invoice_number_counters", ["tenant_id", "year", "series"])


def downgrade() -> None:
    op.execute("DELETE FROM invoice_number_counters WHERE series <> 'invoice'")
    with op.batch_alter_table("invoice_number_counters", schema=None) as batch_op:
        batch_op.drop_constraint("pk_invoice_number_counters", type_="primary")
        batch_op.create_primary_key("pk_invoice_number_counters", ["tenant_id", "year"])
        batch_op.drop_column("series")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invoices_corrects_invoice_id_invoices"), type_="foreignkey")
        batch_op.drop_column("corrected_invoices")
        batch_op.drop_column("corrects_invoice_id")
        batch_op.drop_column("document_type")
