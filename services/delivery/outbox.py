"""The delivery outbox: each approved invoice of a customer whose channel is e-mail or Peppol reaches it once.

Why an outbox like the ERP export's (``services.export.outbox``, whose claims and backoff it shares): a row per
invoice and channel is created in the transaction that decides to deliver it, carrying a reference derived from the
invoice (``services.delivery.channels.message_ref``); it moves ``queued -> sending`` in its own committed transaction
before the channel is called, and the answer is stored after.

What each channel allows after a crash differs. The access point de-duplicates by our idempotency GUID, so a Peppol
row found ``sending`` with its run gone is simply submitted again: the access point answers the first submission's
guid, which is the look-up. A mail server keeps no such memory, so an e-mail row found ``sending`` with its run
gone, or whose message went out without a final reply, becomes ``uncertain``: shown to finance with a re-send
button, never sent again on its own. A 5xx to the recipient is ``bounced``; an access point's refusal is ``failed``
with its reason; anything that delivered nothing is ``queued`` again with backoff, ``failed`` after
``MAX_ATTEMPTS``.

A person's re-send of an e-mail sends the message again (same Message-ID, the archived files); of a Peppol document
it submits with the same idempotency GUID, so the access point transmits it only if it never took it (after a
refusal that was corrected), and otherwise answers with the first submission and its evidence.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from config import Settings
from config.schema import Tenant as TenantConfig
from delivery_channels.base import Attachment, DeliveryDeferred, DeliveryOutcomeUnknown, DeliveryRefused
from ledger.models import CREDIT_NOTE, Delivery, Invoice
from services.access import Actor, require, scheduler
from services.clock import Clock, SystemClock
from services.delivery import channels
from services.delivery.documents import delivery_files
from services.delivery.outcomes import DeliveryOutcome, DeliverySummary
from services.errors import NotFound, ValidationFailed
from services.export.claims import backoff, orphaned, run_claim
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.delivery")

MAX_ATTEMPTS = 8
POLL_INTERVAL = dt.timedelta(minutes=5)  # how soon a submitted Peppol document's evidence is asked for again
RESENDABLE = ("uncertain", "failed", "bounced", "sent", "queued")

Progress = Callable[[DeliveryOutcome], None]


def deliver_invoices(settings: Settings, who: Actor, tenant: str | None = None, *, clock: Clock | None = None,
                     progress: Progress | None = None) -> list[DeliverySummary]:
    """Queue the deliverable invoices of ``tenant`` (default: every visible tenant with ``delivery:``) and send
    what is due."""
    clock = clock or SystemClock()
    with UnitOfWork(engine_for(settings)) as uow:
        confirm(uow, who)
    summaries = []
    for config in _tenants(settings, who, tenant):
        summary = DeliverySummary(config.code, queued=_queue(settings, who, config, clock))
        summary.outcomes = _drain(settings, who, config, clock, progress)
        summaries.append(summary)
    return summaries


def resend(settings: Settings, who: Actor, delivery_id: int, *, clock: Clock | None = None) -> DeliveryOutcome:
    """A person's re-send (CLI ``--resend``, desk button): send the row now, with the same reference and the
    archived files, whatever its state (but never while another run is sending it)."""
    clock = clock or SystemClock()
    with UnitOfWork(engine_for(settings)) as uow:
        row = uow.deliveries.get(delivery_id)
        tenant = uow.deliveries.tenant(row.tenant_id) if row else None
        if row is None or tenant is None or not who.can_see(tenant.code):
            raise NotFound(f"delivery {delivery_id}: not found")
        status = row.status
    require(who, "export", tenant.code)
    if status not in RESENDABLE:
        raise ValidationFailed(f"delivery {delivery_id}: status is {status!r}; only {', '.join(RESENDABLE)} "
                               "deliveries are re-sent")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        uow.audit.record(who.username, "delivery.resend", "delivery", delivery_id, row.tenant_id,
                         before={"status": status}, at=clock.now())
    with run_claim() as runner:
        return _send(settings, who, settings.tenant(tenant.code), delivery_id, runner, clock, resend=True)


def deliver_due(settings: Settings, clock: Clock) -> dict[str, int]:
    """The scheduler's delivery job: queue what became deliverable and send what is due, for every tenant with
    ``delivery:`` enabled."""
    counts: dict[str, int] = {}
    for summary in deliver_invoices(settings, scheduler(settings), clock=clock):
        counts["queued"] = counts.get("queued", 0) + summary.queued
        for action, number in summary.counts().items():
            counts[action] = counts.get(action, 0) + number
    return counts


def _tenants(settings: Settings, who: Actor, tenant: str | None) -> list[TenantConfig]:
    if tenant is not None:
        require(who, "export", tenant)
        config = settings.tenant(tenant)
        if config.delivery is None or not config.delivery.enabled:
            raise ValidationFailed(f"tenant {tenant!r}: delivery is not configured (tenants[].delivery)")
        return [config]
    require(who, "export")
    return [t for t in settings.tenants if t.delivery is not None and t.delivery.enabled and who.can_see(t.code)]


def _queue(settings: Settings, who: Actor, config: TenantConfig, clock: Clock) -> int:
    """One row per deliverable invoice that has none; a customer missing its channel's data gets a ``failed`` row
    naming the field (fixed, it is re-sent from the desk or with ``--resend``)."""
    now = clock.now()
    assert config.delivery is not None
    statuses = ("exported",) if config.delivery.after_export and config.erp.kind != "none" else ("approved",
                                                                                                  "exported")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            raise NotFound(f"tenant {config.code!r}: not in the ledger (run `cspbill init`)")
        uow.deliveries.lock_tenant(tenant.id)
        known = uow.deliveries.queued_invoice_ids(tenant.id)
        fresh = [(i, c) for i, c in uow.deliveries.deliverable(tenant.id, statuses) if i.id not in known]
        for invoice, customer in fresh:
            problem = None
            try:
                to = channels.recipient(customer)
            except ValidationFailed as exc:
                to, problem = "", str(exc)
            channel = str(customer.delivery_channel)  # email or peppol: the only channels deliverable() returns
            row = uow.deliveries.add(invoice, channel, to, channels.message_ref(config, invoice.number, channel), now)
            if problem:
                row.status, row.last_error, row.next_attempt_at = "failed", problem, None
            uow.audit.record(who.username, "delivery.queue", "invoice", invoice.number, tenant.id,
                             after={"delivery_id": row.id, "channel": channel, "recipient": to,
                                    "message_ref": row.message_ref, "status": row.status}, detail=problem, at=now)
    return len(fresh)


def _drain(settings: Settings, who: Actor, config: TenantConfig, clock: Clock,
           progress: Progress | None) -> list[DeliveryOutcome]:
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        due = [r.id for r in uow.deliveries.due(tenant.id, now)] if tenant else []
    outcomes = []
    with run_claim() as runner:
        for delivery_id in due:
            outcome = _send(settings, who, config, delivery_id, runner, clock)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes


def _send(settings: Settings, who: Actor, config: TenantConfig, delivery_id: int, runner: str, clock: Clock, *,
          resend: bool = False) -> DeliveryOutcome:
    """One row through the state machine: claim (committed), issue the files, call the channel, record."""
    now = clock.now()
    early: tuple[str, str] | None = None  # a state to record without calling the channel, and why
    files: tuple[Attachment, ...] = ()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.deliveries.get(delivery_id)
        assert row is not None
        invoice = uow.deliveries.invoice(row.invoice_id)
        assert invoice is not None
        number = invoice.number or str(invoice.id)
        busy = DeliveryOutcome(config.code, number, row.channel, row.recipient, "busy", row.id)
        if row.status == "sending" and not orphaned(row, now):
            return busy
        if row.status == "sending" and row.channel == "email" and not resend:
            early = ("uncertain", "a run ended while sending this e-mail; it may have been delivered: re-send it "
                                  "only after checking with the customer")
        elif not uow.deliveries.claim(row.id, row.status, row.claimed_by, runner, now):
            return busy
        else:
            early, files = _prepare(uow, who, config, row, invoice, resend)
        base = DeliveryOutcome(config.code, number, row.channel, row.recipient, "busy", row.id)
        provider_id, reference, credit = row.provider_id, row.message_ref, invoice.document_type == CREDIT_NOTE
    if early is not None:
        return _record(settings, who, base, early[0], early[1], clock)
    try:
        if base.channel == "email":
            evidence = channels.send_email(config, base.recipient, reference, number, credit, files)
            return _record(settings, who, base, "sent", None, clock, evidence=evidence)
        if not files and provider_id:  # submitted before: only its evidence is asked for
            result = channels.PeppolResult(provider_id, channels.peppol_evidence(config, provider_id))
        else:
            result = channels.send_peppol(config, base.recipient, reference, files[0].content)
        if result.evidence is None:
            return _record(settings, who, base, "submitted", None, clock, provider_id=result.guid)
        return _record(settings, who, base, "sent", None, clock, provider_id=result.guid,
                       evidence=f"{result.evidence.message_id} via {result.evidence.receiving_accesspoint}")
    except DeliveryRefused as exc:
        return _record(settings, who, base, "bounced" if exc.bounced else "failed", str(exc), clock)
    except DeliveryOutcomeUnknown as exc:
        return _record(settings, who, base, "uncertain", str(exc), clock)
    except DeliveryDeferred as exc:
        return _record(settings, who, base, "queued", str(exc), clock)


def _prepare(uow: UnitOfWork, who: Actor, config: TenantConfig, row: Delivery, invoice: Invoice, resend: bool
             ) -> tuple[tuple[str, str] | None, tuple[Attachment, ...]]:
    """A claimed row's files (none when a submitted Peppol document only waits for its evidence); on a re-send the
    recipient is read again, since the customer's data may have been completed since it failed."""
    try:
        if resend:
            customer = uow.exports.customers({invoice.customer_id})[invoice.customer_id]
            row.recipient = channels.recipient(customer)
        if row.channel == "peppol" and row.provider_id and not resend:
            return None, ()
        return None, delivery_files(uow, who, config, invoice, row.channel)
    except ValidationFailed as exc:
        return ("failed", str(exc)), ()


def _record(settings: Settings, who: Actor, base: DeliveryOutcome, status: str, error: str | None, clock: Clock, *,
            evidence: str | None = None, provider_id: str | None = None) -> DeliveryOutcome:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.deliveries.get(base.delivery_id)
        assert row is not None
        if status == "queued" and row.attempts >= MAX_ATTEMPTS:
            status, error = "failed", f"{error} (gave up after {row.attempts} attempts)"
        row.status, row.last_error, row.claimed_by, row.updated_at = status, error, None, now
        row.provider_id = provider_id or row.provider_id
        row.evidence = evidence or row.evidence
        row.next_attempt_at = (now + backoff(row.attempts) if status == "queued"
                               else now + POLL_INTERVAL if status == "submitted" else None)
        if status == "sent":
            row.sent_at = now
        uow.audit.record(who.username, f"delivery.{status}", "invoice", base.invoice_number, row.tenant_id,
                         after={"delivery_id": row.id, "channel": row.channel, "recipient": row.recipient,
                                "message_ref": row.message_ref, "provider_id": row.provider_id,
                                "attempts": row.attempts, "evidence": row.evidence}, detail=error, at=now)
    log_at = logging.INFO if status in ("sent", "submitted") else logging.WARNING
    log.log(log_at, "delivery %s: tenant=%s invoice=%s channel=%s%s", status, base.tenant, base.invoice_number,
            base.channel, f": {error}" if error else "")
    return DeliveryOutcome(base.tenant, base.invoice_number, base.channel, base.recipient, status, base.delivery_id,
                           error)
