"""Batches: invoice_lines.bill_month (the month whose batch owns a line key), for should-minus-billed diffs

Revision ID: 0003_batches
Revises: 0001_foundation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_batches"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bill_month", sa.String(length=7), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoice_lines_bill_month"), ["bill_month"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_bill_month"))
        batch_op.drop_column("bill_month")
