"""Payments in: bank statements, their entries, payment applications and payer hints

Revision ID: 0020_payments
Revises: 0015_provisioning

Why: cash application needs the bank's statements stored once (unique file hash), each entry once (unique key of
account, bank reference, booking day and amount), the applications of entries to invoices with their score and
reasons (unapplied rows stay, with who and why), and what the review queue taught the matcher about payers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = '0020_payments'
down_revision: str | Sequence[str] | None = "0015_provisioning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('statement_id', sa.String(length=100), nullable=True),
    sa.Column('account_iban', sa.String(length=34), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=40), nullable=False),
    sa.Column('imported_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bank_statements_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('sha256', name=op.f('uq_bank_statements_sha256'))
    )
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statements_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('bank_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('statement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_key', sa.String(length=300), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('amount', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payer_name', sa.String(length=200), nullable=True),
    sa.Column('payer_iban', sa.String(length=34), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('proposal', sa.JSON(), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by', sa.String(length=40), nullable=True),
    sa.Column('decided_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_bank_entries_customer_id_customers')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_entries_statement_id_bank_statements')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bank_entries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entries')),
    sa.UniqueConstraint('entry_key', name=op.f('uq_bank_entries_entry_key'))
    )
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_entries_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payer_hints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('learned_by', sa.String(length=40), nullable=False),
    sa.Column('learned_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payer_hints_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payer_hints_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payer_hints')),
    sa.UniqueConstraint('tenant_id', 'kind', 'value', name=op.f('uq_payer_hints_tenant_id_kind_value'))
    )
    op.create_table('payment_applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('charges', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('applied_by', sa.String(length=40), nullable=False),
    sa.Column('applied_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('unapplied_by', sa.String(length=40), nullable=True),
    sa.Column('unapplied_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('unapply_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payment_applications_customer_id_customers')),
    sa.ForeignKeyConstraint(['entry_id'], ['bank_entries.id'], name=op.f('fk_payment_applications_entry_id_bank_entries')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_applications_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payment_applications_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_applications'))
    )
    with op.batch_alter_table('payment_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_applications_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_applications_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_applications_invoice_id'), ['invoice_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_applications_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_payment_applications_entry_id'))
        batch_op.drop_index(batch_op.f('ix_payment_applications_customer_id'))

    op.drop_table('payment_applications')
    op.drop_table('payer_hints')
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_entries_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_status'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_statement_id'))

    op.drop_table('bank_entries')
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statements_tenant_id'))

    op.drop_table('bank_statements')
