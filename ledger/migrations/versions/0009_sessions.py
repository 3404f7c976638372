"""Sessions, API tokens and sign-in attempts; who built, changed and approved a batch and how they signed in

Revision ID: 0009_sessions
Revises: 0008_one_time_purchases

Why: ``--as NAME`` named a person without proving anything. A sign-in now creates a revocable, expiring session
row (only the token's SHA-256 is stored), API tokens of service accounts are the same rows, and failed attempts are
counted for lockout. Batches remember everyone who built or changed the draft (``makers``) so the approver can be
checked against all of them, and how builder and approver authenticated. Existing batches get their builder and
last changer as makers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = "0009_sessions"
down_revision: str | Sequence[str] | None = "0008_one_time_purchases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("principal", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.Column("created_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", ledger.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=40), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    op.create_index(op.f("ix_auth_sessions_username"), "auth_sessions", ["username"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.Column("at", ledger.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index(op.f("ix_sign_in_attempts_username"), "sign_in_attempts", ["username"])
    op.create_index(op.f("ix_sign_in_attempts_at"), "sign_in_attempts", ["at"])
    op.add_column("batches", sa.Column("makers", sa.JSON(), nullable=True))
    op.add_column("batches", sa.Column("built_auth", sa.JSON(), nullable=True))
    op.add_column("batches", sa.Column("approved_auth", sa.JSON(), nullable=True))
    batches = sa.table("batches", sa.column("id", ID), sa.column("built_by", sa.String()),
                       sa.column("changed_by", sa.String()), sa.column("makers", sa.JSON()))
    connection = op.get_bind()
    for row in connection.execute(sa.select(batches.c.id, batches.c.built_by, batches.c.changed_by)).all():
        makers = sorted({row.built_by, row.changed_by} - {None})
        connection.execute(batches.update().where(batches.c.id == row.id).values(makers=makers))
    with op.batch_alter_table("batches") as batch_op:
        batch_op.alter_column("makers", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch_op:
        batch_op.drop_column("approved_auth")
        batch_op.drop_column("built_auth")
        batch_op.drop_column("makers")
    op.drop_index(op.f("ix_sign_in_attempts_at"), table_name="sign_in_attempts")
    op.drop_index(op.f("ix_sign_in_attempts_username"), table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
    op.drop_index(op.f("ix_auth_sessions_username"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
