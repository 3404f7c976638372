"""Customer master data for e-invoices and delivery

Revision ID: 0014_master_data
Revises: 0013_uncertain_sends

Why: a Peppol access point or a Dutch or German recipient refuses an invoice without the buyer's address, electronic
address and payment terms, and delivery needs to know the customer's channel and e-mail. These columns hold what
the desk enters (or the sync brings from distributor data) per customer; all are nullable so existing customers stay
valid and show up as blocking findings until completed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0014_master_data"
down_revision: str | Sequence[str] | None = "0013_uncertain_sends"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("street", sa.String(length=200)),
    ("city", sa.String(length=100)),
    ("postal_code", sa.String(length=20)),
    ("vat_checked_at", ledger.types.UtcDateTime(timezone=True)),
    ("vat_check_result", sa.String(length=20)),
    ("peppol_scheme", sa.String(length=4)),
    ("peppol_id", sa.String(length=100)),
    ("leitweg_id", sa.String(length=50)),
    ("payment_terms_days", sa.Integer()),
    ("delivery_channel", sa.String(length=10)),
    ("email", sa.String(length=254)),
    ("contact_name", sa.String(length=200)),
    ("language", sa.String(length=5)),
)


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
