"""Mutation revisions: a counter per legal entity that database triggers raise on every change to its mutations

Revision ID: 0035_mutation_revisions
Revises: 0034_invoice_batch_index

Why: the batch page checks on each view whether the vendor counts the build stored still hold, and they depend on
every mutation of the legal entity; hashing all of them took about 3 s per view at 300,000 mutations, and the table
only grows. ``mutation_revisions`` answers in one read (``ledger.revisions``). Existing mutations start each legal
entity's counter at their number, so a figure stored before this migration (fingerprinted the old way) is worked out
again once, on its next view.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ledger import revisions

revision: str = "0035_mutation_revisions"
down_revision: str | Sequence[str] | None = "0034_invoice_batch_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mutation_revisions",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_mutation_revisions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_mutation_revisions")),
    )
    op.execute("INSERT INTO mutation_revisions (tenant_id, revision) "
               "SELECT tenant_id, count(*) FROM mutations GROUP BY tenant_id")
    revisions.create(op.get_bind())


def downgrade() -> None:
    revisions.drop(op.get_bind())
    op.drop_table("mutation_revisions")
