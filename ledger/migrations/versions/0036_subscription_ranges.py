"""Subscriptions are indexed by legal entity and customer together

Revision ID: 0036_subscription_ranges
Revises: 0035_mutation_revisions

Why: a month-end build and ``cspbill reconcile`` read a legal entity a range of customers at a time (``WHERE tenant_id
= ? AND customer_id BETWEEN ? AND ?``, also joined for the snapshots of those subscriptions). With one index on
``tenant_id`` and one on ``customer_id``, SQLite's planner took the first and read every subscription of the legal
entity for each range: about 0.2 s per query at 1.4 M licences whatever the range's size, paid by every range (and
by every partition on a Dask cluster). ``ix_subscriptions_tenant_customer`` finds exactly the range's rows (covering
the snapshots' join), and its leading column serves every query by legal entity that ``ix_subscriptions_tenant_id``
served, so that one is dropped (a sync writes one index entry less per licence). Both in place: no table rebuild.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036_subscription_ranges"
down_revision: str | Sequence[str] | None = "0035_mutation_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_subscriptions_tenant_customer", "subscriptions", ["tenant_id", "customer_id"], unique=False)
    op.drop_index("ix_subscriptions_tenant_id", table_name="subscriptions")


def downgrade() -> None:
    op.create_index("ix_subscriptions_tenant_id", "subscriptions", ["tenant_id"], unique=False)
    op.drop_index("ix_subscriptions_tenant_customer", table_name="subscriptions")
