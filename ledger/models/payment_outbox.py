"""What leaves cspbill about payments: applied payments to the ERP (``payment_exports``) and reminders to customers
(``reminders``), each an outbox row created in the transaction that decides to send it.

Why outbox rows like the invoice export's and the delivery's: a send that crashed half-way must be recognisable by
the next run. An ERP payment carries a reference derived from the application (``external_ref``) that the next run
looks up before it creates anything; a reminder is one row per invoice and level (a unique key), and an e-mail whose
outcome is unknown becomes ``uncertain`` and is never sent again on its own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class PaymentExport(Base):
    """One application in force on its way to the legal entity's ERP. ``status``: queued, sending, sent, uncertain
    (a write went unanswered: looked up again), failed (a person must look), cancelled (unapplied before it went),
    marked (the ERP matches itself: nothing sent)."""

    __tablename__ = "payment_exports"
    __table_args__ = (UniqueConstraint("application_id", "target"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("payment_applications.id"), index=True)
    target: Mapped[str] = mapped_column(String(20))  # bc_rest, exact_online, ...
    external_ref: Mapped[str] = mapped_column(String(35), unique=True)  # BC externalDocumentNumber is 35 long
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    erp_id: Mapped[str | None] = mapped_column(String(100))
    next_attempt_at: Mapped[dt.datetime | None]
    uncertain_since: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None]


class Reminder(Base):
    """One reminder letter: an overdue invoice at one dunning level, to the customer's e-mail, with its PDF.
    ``status``: queued, sending, sent, bounced, failed, uncertain (handed over without a final reply)."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(254))
    message_ref: Mapped[str] = mapped_column(String(200), unique=True)  # the e-mail's Message-ID, every attempt
    text: Mapped[str] = mapped_column(Text)
    open_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)  # the letter as sent (a re-send sends these bytes)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None]
