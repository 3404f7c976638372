"""Usage files: the manifest of the Parquet usage store

Revision ID: 0031_usage_files
Revises: 0028_payments_out

Why: with ``usage.store: parquet`` the nightly sync writes usage rows to Parquet files outside the database; the
ledger keeps one row per file (path, sha256, row count, the run that wrote it) so nothing is lost or counted twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = '0031_usage_files'
down_revision: str | Sequence[str] | None = '0028_payments_out'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('usage_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('usage_date', sa.Date(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('written_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('path')
    )
    op.create_index('ix_usage_files_tenant_month', 'usage_files', ['tenant_id', 'month'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_usage_files_tenant_month', table_name='usage_files')
    op.drop_table('usage_files')
