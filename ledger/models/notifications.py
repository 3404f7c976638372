"""The notification outbox: e-mails to finance about events they must act on (a batch ready for approval, an export
that failed, a new blocking finding).

Why a table rather than sending where the event happens: the row is written in the transaction that records the
event, so a rolled-back build notifies nobody, and it is sent afterwards by a run that claims it first. ``event_key``
with the recipient is unique, so the same event raised twice (a rebuild without changes, a second reconcile) queues
nothing new, and a claimed row whose run died is never sent again on its own.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class Notification(Base):
    """One e-mail to one recipient about one event: queued, sending (claimed), sent, failed or uncertain."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("event_key", "recipient"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # batch_ready, export_failed, blocking_finding
    event_key: Mapped[str] = mapped_column(String(200))  # e.g. "batch_ready:12:r3"
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)  # the SMTP server's final reply
    next_attempt_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[dt.datetime | None]
