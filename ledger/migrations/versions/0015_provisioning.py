"""Provisioning at the vendor: the outbox of desk mutations

Revision ID: 0015_provisioning
Revises: 0014_master_data

Why: a desk mutation on a subscription of a source with ``provisioning: true`` is carried to the vendor (Partner
Center quantity PATCH or transition, Pax8 quantity PUT, Ingram change order) exactly once. One row per mutation holds
the request id sent as the vendor's idempotency key, the claim of the run sending it, and the vendor's answer or
refusal. A new table: existing rows stay valid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0015_provisioning"
down_revision: str | Sequence[str] | None = "0014_master_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "provisionings",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("mutation_id", ID, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("target_quantity", ledger.types.ExactDecimal(length=64), nullable=True),
        sa.Column("target_product", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("vendor_code", sa.String(length=40), nullable=True),
        sa.Column("vendor_reason", sa.Text(), nullable=True),
        sa.Column("vendor_reference", sa.String(length=200), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("queued_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_provisionings_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["mutation_id"], ["mutations.id"], name=op.f("fk_provisionings_mutation_id_mutations")),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_provisionings_subscription_id_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisionings")),
        sa.UniqueConstraint("mutation_id", name=op.f("uq_provisionings_mutation_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_provisionings_request_id")),
    )
    with op.batch_alter_table("provisionings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provisionings_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provisionings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisionings_tenant_id"))
    op.drop_table("provisionings")
