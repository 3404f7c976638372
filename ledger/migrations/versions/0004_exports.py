"""Outbox columns: the claim on a row being sent, what the ERP holds for it (number, state, totals) and when

Revision ID: 0004_exports
Revises: 0001_foundation
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = '0004_exports'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', ledger.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erp_number', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('erp_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('erp_totals', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('payload_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sent_at', ledger.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        for column in ('sent_at', 'payload_hash', 'erp_totals', 'erp_status', 'erp_number', 'claimed_at',
                       'claimed_by'):
            batch_op.drop_column(column)
