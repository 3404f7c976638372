"""Invoices lose their single-column batch index

Revision ID: 0034_invoice_batch_index
Revises: 0033_prepared_review

Why: ``ix_invoices_batch_key`` (``batch_id, invoice_key``, 0032) serves every query by batch that
``ix_invoices_batch_id`` served, as its leading column, so the older index only cost time on every invoice a build
writes (a million-contract month writes hundreds of thousands) and space. Dropped in place (no table rebuild), so
SQLite keeps the sealing triggers on ``invoices``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034_invoice_batch_index"
down_revision: str | Sequence[str] | None = "0033_prepared_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_invoices_batch_id", table_name="invoices")


def downgrade() -> None:
    op.create_index("ix_invoices_batch_id", "invoices", ["batch_id"], unique=False)
