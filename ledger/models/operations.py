"""What happened after and around billing: the ERP export outbox, the audit trail, scheduled job runs and the
database leases that keep two schedulers from running the same job.

Why together: these tables record the system's own actions rather than billing facts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class Export(Base):
    """The outbox: one row per (ERP target, invoice) so each invoice reaches the ERP exactly once."""

    __tablename__ = "exports"
    __table_args__ = (UniqueConstraint("target", "external_ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    target: Mapped[str] = mapped_column(String(60))
    external_ref: Mapped[str] = mapped_column(String(200))
    # queued, sending, uncertain (a write went unanswered: looked up again, re-created only after the ERP's longest
    # request), sent, failed, skipped
    status: Mapped[str] = mapped_column(String(16), default="queued")
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
    # 0013_uncertain_sends: when the outcome of a write to the ERP became unknown (wall clock), until it is resolved
    uncertain_since: Mapped[dt.datetime | None]


class ErpDuplicate(Base):
    """A finding of the duplicate sweep: more than one ERP document carries one invoice's external reference.

    ``documents`` lists each copy (``erp_id``, ``number``, ``status``, and what the sweep did: ``kept``, ``removed``,
    ``reported``, ``delete_failed``); the row stays ``open`` while more than one copy remains.
    """

    __tablename__ = "erp_duplicates"
    __table_args__ = (UniqueConstraint("target", "external_ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"))
    target: Mapped[str] = mapped_column(String(60))
    external_ref: Mapped[str] = mapped_column(String(200))
    documents: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what when, with totals before and after; never updated. Each event is a link of its legal entity's
    hash chain (``ledger.audit_chain``).

    Two instants: ``at`` is when it happened by the services' clock (a replayed night in the demo and the tests),
    ``recorded_at`` the real wall-clock time the ledger wrote it, which no clock override moves.
    """

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    # 0010_audit_chain
    recorded_at: Mapped[dt.datetime]
    chain: Mapped[str] = mapped_column(String(40))  # "tenant:<id>" or "global"
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within the chain
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of one audit chain: locked while an event is appended, so concurrent writers queue and the chain
    stays gapless; its last seq and hash also reveal events removed from the end."""

    __tablename__ = "audit_chains"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class JobRun(Base):
    """One run of a scheduled job: visible in the CLI and the web desk."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100), index=True)
    scheduled_for: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    # running, succeeded, failed, skipped, missed, abandoned (its process died: finished_at when found, error why)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(String(100))  # host:pid:token


class Lease(Base):
    """A named database lock with an expiry, so two scheduler instances never run the same job at once."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
