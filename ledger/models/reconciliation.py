"""What the desk asked for and what reconciliation found: service-desk mutations, their provisioning at the vendor,
and discrepancies.

Why together: reconciliation compares the vendor's snapshots with these mutations and with what was billed, and
records each difference as a discrepancy a person resolves; a provisioning row is the outbox entry that carries one
mutation to the vendor (opt-in per source) and records the vendor's answer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class MutationRevision(Base):
    """How often a legal entity's mutations changed: raised by database triggers on every insert, update and delete
    of ``mutations`` (``ledger.revisions``), whoever writes them. A figure worked out from the mutations (the batch
    page's vendor counts) stores the revision it saw and tells in one read whether they moved since."""

    __tablename__ = "mutation_revisions"
    tenant_id: Mapped[int] = mapped_column(Id, ForeignKey("tenants.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)


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
    """A difference between vendor, desk and billed views, with a sentence a person can act on.

    One row per subscription and cause (0022): ``day``..``last_day`` is the day range it covers, ``amount`` in
    ``currency`` what is at stake, ``owner`` the person working it; reconcile closes it (``resolved_by`` "reconcile",
    the reason in ``resolution_note``) when its cause is gone and reopens it when the cause comes back."""

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
    last_day: Mapped[dt.date | None] = mapped_column(Date)  # inclusive; ``day`` is the first
    month: Mapped[str | None] = mapped_column(String(7), index=True)  # YYYY-MM reconciled
    amount: Mapped[Decimal | None]  # at stake, in ``currency``
    currency: Mapped[str | None] = mapped_column(String(3))
    owner: Mapped[str | None] = mapped_column(String(40))
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)


class Provisioning(Base):
    """One desk mutation on its way to the vendor (0015): queued, sending (claimed by a run), applied (the vendor
    answered), confirmed (a later snapshot shows it), refused (the vendor's rule, with its code and sentence) or
    failed (a person must look). ``request_id`` is derived from the mutation id and sent as the vendor's idempotency
    key (``MS-RequestId``, Ingram ``poNumber``), so every retry of one mutation is the same request."""

    __tablename__ = "provisionings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    mutation_id: Mapped[int] = mapped_column(ForeignKey("mutations.id"), unique=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    source: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))  # quantity, cancel, transition
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    target_quantity: Mapped[Decimal | None]
    target_product: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    vendor_code: Mapped[str | None] = mapped_column(String(40))
    vendor_reason: Mapped[str | None] = mapped_column(Text)
    vendor_reference: Mapped[str | None] = mapped_column(String(200))  # order id, transition id, new subscription
    answer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None]
    confirmed_at: Mapped[dt.datetime | None]
