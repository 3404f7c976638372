"""Invoices indexed by batch and invoice key, for keyset paging

Revision ID: 0032_invoice_pages
Revises: 0031_usage_files

Why: the web desk lists a batch's invoices (up to hundreds of thousands) by invoice key, a page at a time, asking
for the keys after the last one shown (``WHERE batch_id = :batch AND invoice_key > :after ORDER BY invoice_key
LIMIT n``). With ``(batch_id, invoice_key)`` the database seeks the page's first key and reads the page in order;
with only the single-column indexes it either sorts the whole batch or walks every invoice key of every batch.
Created in place (no table rebuild), so SQLite keeps the sealing triggers on ``invoices``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032_invoice_pages"
down_revision: str | Sequence[str] | None = "0031_usage_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_invoices_batch_key", "invoices", ["batch_id", "invoice_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_invoices_batch_key", table_name="invoices")
