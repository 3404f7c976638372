"""The versioned price book: editions (imports), sell-price rules, Microsoft's list prices, a batch's edition

Revision ID: 0006_price_book
Revises: 0005_one_history
Create Date: 2026-12-02 21:11:54

Why ``price_list_versions`` is dropped rather than migrated: nothing ever wrote it (it had readers only), so every
ledger holds it empty; ``price_rules`` and ``list_prices`` replace it with rows that name the import they came from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = '0006_price_book'
down_revision: str | Sequence[str] | None = '0005_one_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('price_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sa.String(length=40), nullable=True),
    sa.Column('reprice_from', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=40), nullable=False),
    sa.Column('recorded_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_imports')),
    sa.UniqueConstraint('kind', 'sha256', name=op.f('uq_price_imports_kind_sha256'))
    )
    op.create_table('list_prices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('sku_id', sa.String(length=40), nullable=False),
    sa.Column('product_title', sa.String(length=300), nullable=False),
    sa.Column('sku_title', sa.String(length=300), nullable=False),
    sa.Column('term', sa.String(length=8), nullable=False),
    sa.Column('billing_plan', sa.String(length=12), nullable=False),
    sa.Column('market', sa.String(length=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit_price', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('erp_price', ledger.types.ExactDecimal(length=64), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['price_imports.id'], name=op.f('fk_list_prices_import_id_price_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_prices'))
    )
    with op.batch_alter_table('list_prices', schema=None) as batch_op:
        batch_op.create_index('ix_list_prices_product', ['product_id', 'sku_id'], unique=False)

    op.create_table('price_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('tenant_code', sa.String(length=40), nullable=True),
    sa.Column('customer', sa.String(length=200), nullable=True),
    sa.Column('product', sa.String(length=200), nullable=True),
    sa.Column('meter_category', sa.String(length=200), nullable=True),
    sa.Column('billing', sa.String(length=12), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('unit_price', ledger.types.ExactDecimal(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('basis', sa.String(length=8), nullable=True),
    sa.Column('percent', ledger.types.ExactDecimal(length=64), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['price_imports.id'], name=op.f('fk_price_rules_import_id_price_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_rules'))
    )
    with op.batch_alter_table('price_rules', schema=None) as batch_op:
        batch_op.create_index('ix_price_rules_import', ['import_id'], unique=False)

    with op.batch_alter_table('price_list_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_versions_lookup'))

    op.drop_table('price_list_versions')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('price_edition', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('price_edition')

    op.create_table('price_list_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('billing', sa.String(length=12), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('unit_price', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('created_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_price_list_versions_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_price_list_versions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_list_versions'))
    )
    with op.batch_alter_table('price_list_versions', schema=None) as batch_op:
        batch_op.create_index('ix_price_versions_lookup', ['tenant_id', 'product_id', 'valid_from'], unique=False)

    with op.batch_alter_table('price_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_price_rules_import')

    op.drop_table('price_rules')
    with op.batch_alter_table('list_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_list_prices_product')

    op.drop_table('list_prices')
    op.drop_table('price_imports')
