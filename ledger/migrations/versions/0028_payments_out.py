"""Payments out: applied payments on their way to the ERP, reminders on their way to customers

Revision ID: 0028_payments_out
Revises: 0026_notifications

Why: both are outboxes. A payment export row per application and ERP target carries the reference the ERP is
searched for before anything is created; a reminder row per invoice and dunning level (unique) keeps a letter from
going out twice, with its Message-ID and the PDF as sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger.types

revision: str = '0028_payments_out'
down_revision: str | Sequence[str] | None = '0026_notifications'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('message_ref', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('open_amount', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_reminders_customer_id_customers')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_reminders_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reminders_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('invoice_id', 'level', name=op.f('uq_reminders_invoice_id_level')),
    sa.UniqueConstraint('message_ref', name=op.f('uq_reminders_message_ref'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payment_exports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('external_ref', sa.String(length=35), nullable=False),
    sa.Column('amount', ledger.types.ExactDecimal(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('erp_id', sa.String(length=100), nullable=True),
    sa.Column('next_attempt_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('uncertain_since', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ledger.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', ledger.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['payment_applications.id'], name=op.f('fk_payment_exports_application_id_payment_applications')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payment_exports_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_exports')),
    sa.UniqueConstraint('application_id', 'target', name=op.f('uq_payment_exports_application_id_target')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_payment_exports_external_ref'))
    )
    with op.batch_alter_table('payment_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_exports_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_exports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_exports_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_exports_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_payment_exports_status'))
        batch_op.drop_index(batch_op.f('ix_payment_exports_application_id'))

    op.drop_table('payment_exports')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_status'))
        batch_op.drop_index(batch_op.f('ix_reminders_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_customer_id'))

    op.drop_table('reminders')
