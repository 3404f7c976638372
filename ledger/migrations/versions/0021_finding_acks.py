"""Acknowledgements of a draft batch's review findings

Revision ID: 0021_finding_acks
Revises: 0017_delivery_archive

Why: approval refuses while a finding of the batch (negative margin, a mutation not provisioned, vendor counts
that disagree with billed) is not acknowledged by a person with a reason; ``finding_acks`` records who, when, why,
and the fingerprint of the finding they saw. One new table: nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0021_finding_acks"
down_revision: str | Sequence[str] | None = "0017_delivery_archive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = ledger.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "finding_acks",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("finding_id", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=False),
        sa.Column("acknowledged_at", INSTANT, nullable=False),
        sa.Column("auth", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_finding_acks_batch_id_batches")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_finding_acks_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_acks")),
        sa.UniqueConstraint("batch_id", "fingerprint", name=op.f("uq_finding_acks_batch_id_fingerprint")),
    )
    with op.batch_alter_table("finding_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_acks_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_finding_acks_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("finding_acks")
