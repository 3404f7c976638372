"""What the bank said and what finance made of it: imported statements (once each, by the file's hash), their
entries (once each, by bank reference, account, booking day and amount), the payments applied to invoices, and what
the review queue taught the matcher about payers.

Why applications are rows of their own, never an invoice column: an entry may pay several invoices, an invoice may
be paid by several entries, and an application can be taken back (unapplied, with a reason) without losing that it
was once made; an invoice's open amount is its gross less its applications still in force.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class BankStatement(Base):
    """One imported statement file (camt.053, camt.054 or MT940) of a legal entity's bank account."""

    __tablename__ = "bank_statements"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the file's bytes: a file is imported once
    filename: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))  # camt.053, camt.054, mt940
    statement_id: Mapped[str | None] = mapped_column(String(100))  # the bank's Stmt/Id or :20:
    account_iban: Mapped[str] = mapped_column(String(34))
    currency: Mapped[str] = mapped_column(String(3))
    entries: Mapped[int] = mapped_column(Integer, default=0)  # new entries this file brought
    imported_by: Mapped[str] = mapped_column(String(40))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BankEntry(Base):
    """One booked entry: signed amount (credit positive, debit negative), who paid and what they wrote, and the
    matcher's latest proposal. ``status``: applied, review (a proposal below the threshold), unmatched."""

    __tablename__ = "bank_entries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    entry_key: Mapped[str] = mapped_column(String(300), unique=True)  # account|bank reference|booking day|amount
    bank_reference: Mapped[str] = mapped_column(String(100))
    booking_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_iban: Mapped[str | None] = mapped_column(String(34))
    reference: Mapped[str | None] = mapped_column(String(40))  # structured creditor reference
    text: Mapped[str | None] = mapped_column(Text)  # unstructured remittance information
    status: Mapped[str] = mapped_column(String(16), default="unmatched", index=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    proposal: Mapped[dict[str, Any]] = mapped_column(default=dict)  # customer, allocations, reasons, charges
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # the payer, once decided
    decided_by: Mapped[str | None] = mapped_column(String(40))  # "matcher" for automatic applications
    decided_at: Mapped[dt.datetime | None]


class PaymentApplication(Base):
    """Part of an entry applied to one invoice; in force until unapplied (with who, when and why)."""

    __tablename__ = "payment_applications"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal]  # signed like the invoice's gross
    charges: Mapped[Decimal]  # shortfall written off as bank charges when this application settles the invoice
    currency: Mapped[str] = mapped_column(String(3))
    how: Mapped[str] = mapped_column(String(16))  # automatic, accepted, reassigned
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    applied_by: Mapped[str] = mapped_column(String(40))
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unapplied_by: Mapped[str | None] = mapped_column(String(40))
    unapplied_at: Mapped[dt.datetime | None]
    unapply_reason: Mapped[str | None] = mapped_column(Text)


class PayerHint(Base):
    """A payer IBAN or a normalised payer name finance confirmed for a customer in the review queue."""

    __tablename__ = "payer_hints"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(8))  # iban, name
    value: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    learned_by: Mapped[str] = mapped_column(String(40))
    learned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
