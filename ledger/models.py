"""The ledger's tables: the single source of truth of what was seen, asked for, billed and exported.

Design notes:
- Snapshots are append-only (database triggers refuse UPDATE and DELETE; repositories offer neither).
- Money and quantities are ``ExactDecimal`` (never float) and always sit next to a currency column.
- Every invoice line has a deterministic ``line_key`` (tenant, customer, subscription, charge period, charge kind,
  version) that the ERP export uses as its external reference, so retries update or skip instead of duplicating.
- Instants are stored timezone-aware (UTC); billing days are stored as plain dates next to them, derived once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.types import ExactDecimal, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        Decimal: ExactDecimal(),
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER PRIMARY KEY


class Tenant(Base):
    """A legal entity (Mandant) with its own currency, VAT, number range and ERP."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person using the desk; mirrored from config so audit events and batches can reference them."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    tenant_codes: Mapped[list[Any]] = mapped_column(default=list)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str | None] = mapped_column(String(100))  # ERP customer number
    country: Mapped[str | None] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(40))
    is_business: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    external_ids: Mapped[list[CustomerExternalId]] = relationship(back_populates="customer")


class CustomerExternalId(Base):
    """How each source names a customer; one customer may be known to several sources."""

    __tablename__ = "customer_external_ids"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    customer: Mapped[Customer] = relationship(back_populates="external_ids")


class Subscription(Base):
    """A vendor subscription line as cspbill tracks it; its quantity history lives in snapshots."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    vendor_subscription_id: Mapped[str | None] = mapped_column(String(100), index=True)
    product_id: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(200))
    product_name: Mapped[str] = mapped_column(String(300))
    term: Mapped[str | None] = mapped_column(String(8))  # ISO 8601 duration: P1M, P1Y, P3Y; None = no commitment
    billing: Mapped[str] = mapped_column(String(12))  # P1M, P1Y, P3Y, ONE_TIME, USAGE
    billing_type: Mapped[str] = mapped_column(String(16), default="license")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    anchor_date: Mapped[dt.date | None] = mapped_column(Date)
    term_end: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # inclusive last billed day after a cancellation
    auto_renew: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="active")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    """One read of one source: when, how much, and whether it completed (an incomplete run is no truth)."""

    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    as_of: Mapped[dt.datetime]  # the instant the source was read "as of" (the night)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, succeeded, partial, failed
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)


class Snapshot(Base):
    """What the vendor said about a subscription at a moment. Append-only: history is never rewritten."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_subscription_observed", "subscription_id", "observed_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    observed_at: Mapped[dt.datetime]
    observed_on: Mapped[dt.date] = mapped_column(Date)  # billing day of observed_at in the tenant's zone
    quantity: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[str] = mapped_column(String(200))
    unit_cost: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw_hash: Mapped[str] = mapped_column(String(64))
    state_hash: Mapped[str | None] = mapped_column(String(64))  # hash of the billing-relevant state (sync compares it)


class UsageRow(Base):
    """One day of consumption from a source, replaced (never appended) when the source restates the day."""

    __tablename__ = "usage_rows"
    __table_args__ = (
        UniqueConstraint("source", "row_key"),
        Index("ix_usage_rows_tenant_date", "tenant_id", "usage_date"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    source: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(200))
    subscription_external_id: Mapped[str] = mapped_column(String(200))
    usage_date: Mapped[dt.date] = mapped_column(Date)
    meter_id: Mapped[str] = mapped_column(String(200))
    meter_name: Mapped[str] = mapped_column(String(300))
    meter_category: Mapped[str] = mapped_column(String(200))
    resource_group: Mapped[str | None] = mapped_column(String(300))
    resource_location: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quantity: Mapped[Decimal]
    cost: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CostLine(Base):
    """What the vendor billed the reseller (recon line, distributor invoice item), stored exactly as delivered."""

    __tablename__ = "cost_lines"
    __table_args__ = (UniqueConstraint("source", "line_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    line_id: Mapped[str] = mapped_column(String(200))
    customer_external_id: Mapped[str] = mapped_column(String(200))
    subscription_external_id: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(String(200))
    charge_type: Mapped[str] = mapped_column(String(40))
    charge_start: Mapped[dt.date] = mapped_column(Date)
    charge_end: Mapped[dt.date] = mapped_column(Date)  # inclusive
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    subtotal: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reference_id: Mapped[str | None] = mapped_column(String(200))
    invoice_id: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))


class Mutation(Base):
    """A service-desk request (ticket) to change a subscription, validated against NCE rules before it is saved."""

    __tablename__ = "mutations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # increase, decrease, cancel, upgrade
    effective_date: Mapped[dt.date] = mapped_column(Date)
    new_quantity: Mapped[Decimal | None]
    delta: Mapped[Decimal | None]
    target_product: Mapped[str | None] = mapped_column(String(200))
    ticket_ref: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, scheduled, provisioned, cancelled
    scheduled_for: Mapped[dt.date | None] = mapped_column(Date)  # renewal date when a reduction must wait
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_by: Mapped[str | None] = mapped_column(String(40))
    cancelled_at: Mapped[dt.datetime | None]


class Discrepancy(Base):
    """A difference between vendor, desk and billed views, with a sentence a person can act on."""

    __tablename__ = "discrepancies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)  # same finding twice = same row
    kind: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date | None] = mapped_column(Date)
    sentence: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[dt.datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)


class PriceListVersion(Base):
    """A sell price valid from a date (per product, optionally per customer); lines name the version they used."""

    __tablename__ = "price_list_versions"
    __table_args__ = (Index("ix_price_versions_lookup", "tenant_id", "product_id", "valid_from"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    product_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    billing: Mapped[str] = mapped_column(String(12))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    unit_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(40))  # config, vendor, manual
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FxRate(Base):
    """An exchange rate with where it came from and for which day; lines that convert name it in lineage."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("base", "quote", "rate_date", "source"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(60))


class Batch(Base):
    """The month's invoices of one legal entity: draft until a second person approves it."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, approved, exported
    built_by: Mapped[str] = mapped_column(String(40))
    built_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(40))
    changed_at: Mapped[dt.datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[dt.datetime | None]
    rejected_by: Mapped[str | None] = mapped_column(String(40))
    rejected_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    invoice_key: Mapped[str] = mapped_column(String(200), unique=True)  # deterministic; ERP external document no.
    group_key: Mapped[str | None] = mapped_column(String(200))  # subscription or environment when grouped so
    number: Mapped[str | None] = mapped_column(String(40))  # assigned at approval, gapless per tenant
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[Decimal]
    vat: Mapped[Decimal]
    gross: Mapped[Decimal]
    vat_breakdown: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, approved, exported
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by="InvoiceLine.id")


class InvoiceLine(Base):
    """One billed amount with everything that produced it (lineage), under a deterministic key."""

    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    line_key: Mapped[str] = mapped_column(String(300), unique=True)
    base_key: Mapped[str] = mapped_column(String(300), index=True)  # the key without its version
    version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))  # charge, credit, usage, correction
    description: Mapped[str] = mapped_column(String(500))
    period_from: Mapped[dt.date | None] = mapped_column(Date)
    period_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    amount: Mapped[Decimal]  # rounded once, by the tenant's policy
    unrounded: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate: Mapped[Decimal]
    vat_category: Mapped[str] = mapped_column(String(4), default="S")
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    corrects_line_key: Mapped[str | None] = mapped_column(String(300))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    bill_month: Mapped[str | None] = mapped_column(String(7), index=True)  # YYYY-MM whose batch owns the key
    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceNumberCounter(Base):
    """The last invoice number handed out per tenant and year; locked while numbers are assigned."""

    __tablename__ = "invoice_number_counters"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Export(Base):
    """The outbox: one row per (ERP target, invoice) so each invoice reaches the ERP exactly once."""

    __tablename__ = "exports"
    __table_args__ = (UniqueConstraint("target", "external_ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    target: Mapped[str] = mapped_column(String(60))
    external_ref: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sending, sent, failed, skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    erp_document_id: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # 0004_exports: who holds a "sending" row (host:pid:run), what the ERP holds, and when it was confirmed.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    erp_number: Mapped[str | None] = mapped_column(String(100))
    erp_status: Mapped[str | None] = mapped_column(String(16))  # draft, posted
    erp_totals: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Who did what when, with totals before and after; never updated."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """One run of a scheduled job: visible in the CLI and the web desk."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    scheduled_for: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")  # running, succeeded, failed, skipped
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(String(100))  # host:pid


class Lease(Base):
    """A named database lock with an expiry, so two scheduler instances never run the same job at once."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
