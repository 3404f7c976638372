"""Cost lines say what kind of purchase they bill and which order they belong to

Revision ID: 0008_one_time_purchases
Revises: 0007_credit_notes

Why: a one-time purchase (perpetual software, a reservation or savings plan bought up front, a Marketplace one-time
offer) is billed once, in the month of its order, and a refund credits that order. The connectors already read the
vendor's billing type (one-time, licence, trial), order id, order date and product name; these columns keep them next to the cost
line so the batch build does not have to parse vendor payloads. Plain nullable ADD COLUMNs: old rows stay valid and
are filled in by the next sync (cost lines are upserted by line id).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_one_time_purchases"
down_revision: str | Sequence[str] | None = "0007_credit_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cost_lines", sa.Column("billing_type", sa.String(length=16), nullable=True))
    op.add_column("cost_lines", sa.Column("order_id", sa.String(length=200), nullable=True))
    op.add_column("cost_lines", sa.Column("ordered_on", sa.Date(), nullable=True))
    op.add_column("cost_lines", sa.Column("product_name", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cost_lines") as batch_op:
        batch_op.drop_column("product_name")
        batch_op.drop_column("ordered_on")
        batch_op.drop_column("order_id")
        batch_op.drop_column("billing_type")
