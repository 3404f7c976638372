"""What was billed: month-end batches, their invoices, invoice lines under deterministic keys with lineage, and
the gapless invoice-number counters.

Why together: a batch, its invoices and their lines are built, reviewed, approved and numbered as one unit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.models.base import Base, Id, utcnow

# UNCL 1001 document types of ``Invoice.document_type``
INVOICE, CREDIT_NOTE = "380", "381"


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
    price_edition: Mapped[int | None] = mapped_column(Integer)  # last price_imports.id it was priced with
    # 0009_sessions: everyone who built or changed the draft (four-eyes), and how the builder and the approver
    # authenticated ({"username", "method", "session"})
    makers: Mapped[list[Any]] = mapped_column(default=list)
    built_auth: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    approved_auth: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Invoice(Base):
    __tablename__ = "invoices"
    # 0032_invoice_pages: a batch's invoices are listed by key (keyset paging): the index seeks a page's first key;
    # it serves every look-up by batch too (0034_invoice_batch_index dropped the single-column one)
    __table_args__ = (UniqueConstraint("tenant_id", "number"),
                      Index("ix_invoices_batch_key", "batch_id", "invoice_key"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
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
    # UNCL 1001, decided at approval: 381 (credit note) when the total is negative, else 380 (invoice)
    document_type: Mapped[str] = mapped_column(String(3), default=INVOICE)
    # the invoice a credit note corrects (BT-25/BT-26), the most recent of ``corrected_invoices``
    corrects_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    # every earlier invoice the credit note's lines correct: ``[{"id", "number", "issue_date"}]``, newest first
    corrected_invoices: Mapped[list[Any]] = mapped_column(default=list)
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by="InvoiceLine.id")


class InvoiceLine(Base):
    """One billed amount with everything that produced it (lineage), under a deterministic key."""

    __tablename__ = "invoice_lines"
    # 0033: the reverse-charge lines of a batch (the buyer's VAT id check) without walking the batch's lines
    __table_args__ = (Index("ix_invoice_lines_vat_category", "vat_category", "invoice_id"),)
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
    """The last number handed out per tenant, year and series (``invoice``, or ``credit_note`` when credit notes
    have a range of their own); locked while numbers are assigned."""

    __tablename__ = "invoice_number_counters"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True, default="invoice")
    last_number: Mapped[int] = mapped_column(Integer, default=0)
