"""`cspbill payments export`: applied payments reach the legal entity's ERP exactly once, through an outbox.

Why an outbox like the invoice export's (``services.export.outbox``, whose claims and backoff it shares): every
application in force gets one ``payment_exports`` row per ERP target, created in the transaction that decides to send
it, carrying a reference derived from the application (``PAY-<tenant>-<application id>``). The row moves ``queued ->
sending`` in its own committed transaction before the ERP is called; the ERP call starts by looking the reference up
(found: adopted, never created again); the answer is stored after. A write that got no answer, or a row found
``sending`` with its run gone, is ``uncertain``: looked up again, and created again only when the ERP's longest
request (``ErpTarget.longest_request``) has passed since without the payment showing up.

Where the ERP matches its own bank lines (``payments.erp[].mode: marked_paid``), nothing is sent: the row is
``marked`` at once, so the ledger still says which applications the ERP was left to find itself. An ERP kind with no
payment adapter is refused with one sentence naming the config key.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from config import Settings
from config.payments import PaymentErp
from config.schema import Tenant as TenantConfig
from erp_export.base import ErpError, ErpOutcomeUnknown, ErpRejected, ErpUnavailable
from erp_export.bc_rest import BcRestExporter
from erp_export.bc_rest_payments import BcPaymentJournal
from erp_export.exact_online import ExactOnlineExporter
from erp_export.exact_payments import ExactCashEntries
from erp_export.payments import PaymentDocument, PaymentExporter, PaymentRef
from ledger.models import PaymentExport
from services.access import Actor, require, scheduler
from services.clock import Clock, SystemClock
from services.errors import BadSetting, NotConfigured
from services.export.claims import backoff, orphaned, run_claim
from services.export.targets import ErpTarget, erp_target
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.payments.export")

MAX_ATTEMPTS = 8

AfterSend = Callable[[str, PaymentRef], None]


@dataclass
class PaymentExportSummary:
    tenant: str
    target: str
    queued: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # action -> count of this run
    errors: list[str] = field(default_factory=list)

    @property
    def sentence(self) -> str:
        done = ", ".join(f"{n} {action}" for action, n in sorted(self.outcomes.items())) or "nothing to send"
        return f"{self.tenant} -> {self.target}: {self.queued} newly queued; {done}"


def payment_reference(tenant: str, application_id: int) -> str:
    """Our reference of one application in the ERP (BC's externalDocumentNumber holds 35 characters)."""
    return f"PAY-{tenant.upper()}-{application_id}"


def payment_exporter(config: TenantConfig, target: ErpTarget, journal: str | None) -> PaymentExporter:
    """The payment adapter of ``config``'s ERP; ``BadSetting`` for an ERP that has no payment export yet."""
    if isinstance(target.exporter, BcRestExporter):
        return BcPaymentJournal(target.exporter, journal or "GENERAL")
    if isinstance(target.exporter, ExactOnlineExporter):
        return ExactCashEntries(target.exporter, journal or "20")
    raise BadSetting(f"tenant {config.code!r}: the ERP {target.name} has no payment export yet; set "
                     "payments.erp[].mode to marked_paid to leave matching to the ERP")


def export_payments(settings: Settings, who: Actor, tenant: str | None = None, *, clock: Clock | None = None,
                    after_send: AfterSend | None = None,
                    targets: Callable[[Settings, TenantConfig], ErpTarget] = erp_target) -> list[PaymentExportSummary]:
    """Queue the applications in force of ``tenant`` (default: every visible tenant in ``payments.erp``) and send
    what is due. ``after_send`` runs after the ERP answered, before the answer is committed (a test hook for a crash
    at exactly that point)."""
    clock = clock or SystemClock()
    with UnitOfWork(engine_for(settings)) as uow:
        confirm(uow, who)
    summaries = []
    for config, how in _tenants(settings, who, tenant):
        target = targets(settings, config)
        exporter = None if how.mode == "marked_paid" else payment_exporter(config, target, how.journal)
        summary = PaymentExportSummary(config.code, target.name if exporter else "marked paid")
        summary.queued = _queue(settings, who, config, target.name, exporter is None, clock)
        if exporter is not None:
            _drain(settings, who, config, target, exporter, clock, summary, after_send)
        summaries.append(summary)
    return summaries


def export_due_payments(settings: Settings, clock: Clock) -> dict[str, int]:
    """The scheduler's part: every tenant in ``payments.erp``; one tenant's broken ERP config holds up no other."""
    counts: dict[str, int] = {}
    who = scheduler(settings)
    for how in settings.payments.erp:
        try:
            summaries = export_payments(settings, who, how.tenant, clock=clock)
        except (BadSetting, NotConfigured) as exc:
            log.error("payment export skipped: tenant=%s: %s", how.tenant, exc)
            counts["config_error"] = counts.get("config_error", 0) + 1
            continue
        for summary in summaries:
            counts["queued"] = counts.get("queued", 0) + summary.queued
            for action, n in summary.outcomes.items():
                counts[action] = counts.get(action, 0) + n
    return counts


def _tenants(settings: Settings, who: Actor, tenant: str | None) -> list[tuple[TenantConfig, PaymentErp]]:
    if tenant is not None:
        require(who, "export", tenant)
        how = settings.payments.erp_of(tenant)
        if how is None:
            raise NotConfigured(f"tenant {tenant!r}: payments.erp has no entry for it (how its payments reach the "
                                "ERP)")
        config = settings.tenant(tenant)
        if config.erp.kind == "none":
            raise BadSetting(f"tenant {tenant!r}: erp.kind is 'none', there is no ERP to send payments to")
        return [(config, how)]
    require(who, "export")
    return [(settings.tenant(h.tenant), h) for h in settings.payments.erp
            if who.can_see(h.tenant) and settings.tenant(h.tenant).erp.kind != "none"]


def _queue(settings: Settings, who: Actor, config: TenantConfig, target: str, marked: bool, clock: Clock) -> int:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            raise NotConfigured(f"tenant {config.code!r}: not in the ledger (run `cspbill init`)")
        uow.payments_out.lock_tenant(tenant.id)
        fresh = uow.payments_out.unexported(tenant.id, target)
        for application, invoice, _customer in fresh:
            row = PaymentExport(tenant_id=tenant.id, application_id=application.id, target=target,
                                external_ref=payment_reference(config.code, application.id),
                                amount=application.amount, currency=application.currency,
                                status="marked" if marked else "queued", attempts=0, next_attempt_at=now,
                                created_at=now, updated_at=now)
            uow.session.add(row)
            uow.flush()
            uow.audit.record(who.username, "payment.export.marked" if marked else "payment.export.queue", "invoice",
                             invoice.number, tenant.id, after={"payment_export_id": row.id, "target": target,
                                                                "external_ref": row.external_ref,
                                                                "amount": str(row.amount)}, at=now)
    return len(fresh)


def _drain(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, exporter: PaymentExporter,
           clock: Clock, summary: PaymentExportSummary, after_send: AfterSend | None) -> None:
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        due = [r.id for r in uow.payments_out.due_exports(tenant.id, now)] if tenant else []
    with run_claim() as runner:
        for row_id in due:
            action, error = _send(settings, who, config, target, exporter, row_id, runner, clock, after_send)
            summary.outcomes[action] = summary.outcomes.get(action, 0) + 1
            if error:
                summary.errors.append(error)


def _send(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, exporter: PaymentExporter,
          row_id: int, runner: str, clock: Clock, after_send: AfterSend | None) -> tuple[str, str | None]:
    """One row: claim (committed), look up, create when absent and provably never landed, record."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.payments_out.export(row_id)
        assert row is not None
        if row.status == "sending" and not orphaned(row, now):
            return "busy", None
        resumed = row.status in ("sending", "uncertain")
        if not uow.payments_out.claim_export(row.id, row.status, row.claimed_by, runner, now):
            return "busy", None
        if resumed and row.uncertain_since is None:  # its run died mid-send: the write may be in flight
            row.uncertain_since = now
        application, invoice, customer, booked = uow.payments_out.export_parts(row)
        unapplied = application.unapplied_at is not None
        erp_number = uow.payments_out.erp_invoice_number(invoice.id, row.target)
        doc = PaymentDocument(row.external_ref, customer.reference or "", invoice.number or str(invoice.id),
                              erp_number or "", booked, row.amount, row.currency,
                              f"Payment {invoice.number} {customer.name}")
        since = row.uncertain_since
    if unapplied:
        return _record(settings, who, row_id, doc.invoice_number, "cancelled", clock,
                       error=f"unapplied before it reached the ERP: {application.unapply_reason}")
    if not erp_number:
        return _record(settings, who, row_id, doc.invoice_number, "queued", clock,
                       error=f"invoice {doc.invoice_number} is not in {target.name} yet: export it first "
                             "(`cspbill export`)")
    if not doc.customer_number:
        return _record(settings, who, row_id, doc.invoice_number, "failed", clock,
                       error=f"customer {customer.name}: reference (the ERP customer number) is empty")
    try:
        found = exporter.find_payment(doc.external_ref)
        if found is not None:
            action, ref = ("adopted" if resumed else "skipped"), found
        elif since is not None and (now - since).total_seconds() < target.longest_request:
            return _record(settings, who, row_id, doc.invoice_number, "uncertain", clock,
                           error=f"not in {target.name} yet; an unanswered write may still land until "
                                 f"{(since + dt.timedelta(seconds=target.longest_request)).isoformat()}")
        else:
            action, ref = "created", exporter.create_payment(doc)
    except ErpRejected as exc:
        return _record(settings, who, row_id, doc.invoice_number, "failed", clock, error=str(exc))
    except ErpOutcomeUnknown as exc:
        return _record(settings, who, row_id, doc.invoice_number, "uncertain", clock, error=str(exc),
                       unknown_at=clock.now())
    except ErpError as exc:
        hint = exc.retry_after if isinstance(exc, ErpUnavailable) else None
        return _record(settings, who, row_id, doc.invoice_number, "queued", clock, error=str(exc), hint=hint)
    if after_send:
        after_send(action, ref)
    return _record(settings, who, row_id, doc.invoice_number, action, clock, erp_id=ref.erp_id)


def _record(settings: Settings, who: Actor, row_id: int, invoice: str, action: str, clock: Clock, *,
            error: str | None = None, erp_id: str | None = None, hint: float | None = None,
            unknown_at: dt.datetime | None = None) -> tuple[str, str | None]:
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.payments_out.export(row_id)
        assert row is not None
        status = "sent" if action in ("created", "adopted", "skipped") else action
        if status == "queued" and row.attempts >= MAX_ATTEMPTS:
            status, error = "failed", f"{error} (gave up after {row.attempts} attempts)"
        row.status, row.last_error, row.claimed_by, row.updated_at = status, error, None, now
        row.erp_id = erp_id or row.erp_id
        if unknown_at is not None:
            row.uncertain_since = row.uncertain_since or unknown_at
        row.next_attempt_at = now + backoff(row.attempts, hint) if status in ("queued", "uncertain") else None
        if status == "sent":
            row.sent_at, row.uncertain_since = now, None
        uow.audit.record(who.username, f"payment.export.{status}", "invoice", invoice, row.tenant_id,
                         after={"payment_export_id": row.id, "target": row.target, "action": action,
                                "external_ref": row.external_ref, "erp_id": row.erp_id, "amount": str(row.amount),
                                "attempts": row.attempts}, detail=error, at=now)
    log.log(logging.INFO if status == "sent" else logging.WARNING, "payment export %s: invoice=%s%s", action,
            invoice, f": {error}" if error else "")
    return (status if status != "sent" else action), error
