"""Invoice delivery to customers (e-mail, Peppol) and the archive of every document issued.

Why apart from the ERP export: a delivery goes to the customer, not to our books, through a channel the customer
chose; it has its own states (a bounce is not an ERP rejection) and its own idempotency key (a Message-ID, an access
point's idempotency GUID). The archive holds the bytes a customer was sent, once per invoice and kind, so a re-send
sends exactly what was issued and ``cspbill archive verify`` can prove nothing changed since.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class Delivery(Base):
    """The delivery outbox: one row per (invoice, channel). ``message_ref`` is derived from the invoice (the e-mail's
    Message-ID, the access point's idempotency GUID), so every attempt carries the same key."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("invoice_id", "channel"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email, peppol
    recipient: Mapped[str] = mapped_column(String(300))  # e-mail address, or "scheme:id"
    message_ref: Mapped[str] = mapped_column(String(200), unique=True)
    # queued, sending, submitted (the access point took it, evidence pending), sent, bounced, failed, uncertain
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(200))  # the access point's submission guid
    evidence: Mapped[str | None] = mapped_column(Text)  # what proves delivery (AP message id, SMTP reply)
    next_attempt_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None]


class ArchivedDocument(Base):
    """One issued file: never updated or deleted (database triggers), its SHA-256 taken when it was stored."""

    __tablename__ = "archived_documents"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # pdf, ubl, facturx
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
