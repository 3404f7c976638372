"""Who bills and who is billed: legal entities (tenants), desk users, customers with the names each source gives
them, and the vendor subscriptions cspbill tracks for them.

Why together: these are the parties and holdings every other table points at; they change rarely and only through
sync, config or the desk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.models.base import Base, Id, utcnow


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
    # Master data the e-invoice and delivery need (migration 0014); filled by the desk, `cspbill customer` or sync.
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    vat_checked_at: Mapped[dt.datetime | None] = mapped_column()  # last VIES confirmation
    vat_check_result: Mapped[str | None] = mapped_column(String(20))  # valid | invalid | unavailable
    peppol_scheme: Mapped[str | None] = mapped_column(String(4))  # EAS code, e.g. 0106 (KvK), 9930 (DE VAT)
    peppol_id: Mapped[str | None] = mapped_column(String(100))
    leitweg_id: Mapped[str | None] = mapped_column(String(50))  # German public buyer: BT-10 in XRechnung
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)  # None: the legal entity's default
    delivery_channel: Mapped[str | None] = mapped_column(String(10))  # email | peppol | erp (None: erp)
    email: Mapped[str | None] = mapped_column(String(254))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5))
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
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # a build reads a legal entity a range of customers at a time (migration 0036)
        Index("ix_subscriptions_tenant_customer", "tenant_id", "customer_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
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
