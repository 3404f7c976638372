"""The export outbox: approved invoices reach the legal entity's ERP exactly once, whatever fails and when.

Why an outbox with a claim (erp.md §5): no ERP enforces uniqueness of our reference, and a write that got no answer
may have been applied. So every invoice gets one ``exports`` row per ERP target, created in the transaction that
decides to export it, carrying the invoice's deterministic ERP key. A row moves ``queued -> sending`` in its own
committed transaction *before* the ERP is called; the ERP call always starts by looking the key up (search, then
create, update or adopt); the answer is stored back as ``sent`` (ERP id, number, totals) or as a retryable error
(``queued`` again, with the error and a backoff) or a permanent one (``failed``). After every export the ERP's
totals are compared with ours (billing-rules §6): a difference is an export error, and the invoice stays unexported
until a person looks.

A write that got no answer (read timeout, connection dropped after sending) is ``uncertain``: the ERP may still be
running it (BC runs a request to its own operation timeout whether or not we wait), so a look-up that finds nothing
proves nothing until the ERP's longest possible request has passed (``ErpTarget.longest_request``). The row is looked
up again with backoff (and right when that bound passes); found, it is adopted; absent after the bound, it is created
again. A row found in ``sending`` whose run is gone (``services.export.claims``: killed between claim and commit) may
have a write in flight just the same: it becomes uncertain from the moment we notice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace

from config import Settings
from config.schema import Tenant as TenantConfig
from erp_export.base import (
    ErpDocumentRef,
    ErpError,
    ErpOutcomeUnknown,
    ErpReconnectRequired,
    ErpRejected,
    ErpUnavailable,
    ErpWriteMayLand,
    RetryPolicy,
    export_document,
)
from erp_export.documents import InvoiceDocument
from services import notifications as notices
from services.access import Actor, require, scheduler
from services.clock import Clock, SystemClock
from services.errors import NotFound, ValidationFailed
from services.export.claims import FAR_FUTURE, backoff, orphaned, run_claim
from services.export.documents import erp_reference, payload_hash
from services.export.dry_run import dry_run as plan_run
from services.export.erp_mapping import UnmappedVat, erp_document
from services.export.outcomes import ExportOutcome, ExportSummary
from services.export.sweep import sweep_tenant
from services.export.targets import ErpTarget, erp_target, tenants_with_erp
from services.identity import confirm
from services.progress import Counted, count
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.export")

BREAKER = 3  # retryable failures in a row after which a run stops calling that ERP
MAX_ATTEMPTS = 8  # after this many runs a retryable error becomes a failure a person must look at
SERVICE_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=10.0, settle=5.0)  # in-run; the outbox does the rest


TargetFactory = Callable[[Settings, TenantConfig], ErpTarget]


# Entry points: CLI, web desk, scheduler


def export_invoices(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    *,
    batch: int | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    clock: Clock | None = None,
    progress: Callable[[ExportOutcome], None] | None = None,
    after_send: Callable[[ExportOutcome], None] | None = None,
    targets: TargetFactory = erp_target,
    policy: RetryPolicy | None = None,
    counted: Counted | None = None,
) -> list[ExportSummary]:
    """Queue the approved invoices of ``tenant`` (default: every visible tenant with an ERP) and send what is due.

    ``batch`` (an id of ``tenant``'s, which is then required) limits the run to that batch's invoices (the web
    desk's "Export all" on a batch). ``dry_run`` only reads (ledger and ERP look-ups) and reports what would be
    created, updated or skipped.
    ``retry_failed`` also retries rows a person must look at. ``after_send`` runs after the ERP answered and before
    the answer is committed (a test hook for a crash at exactly that point). ``counted`` is told, per legal entity,
    how many of its due invoices were sent so far. ``targets`` builds the adapter. After a
    real run the duplicate sweep looks up every invoice sent within the target's ``sweep_days``.
    """
    clock = clock or SystemClock()
    summaries = []
    if batch is not None and tenant is None:
        raise ValidationFailed(f"batch {batch}: exporting one batch needs its tenant")
    with UnitOfWork(engine_for(settings)) as uow:
        confirm(uow, who)
    for config in tenants_with_erp(settings, who, tenant):
        target = targets(settings, config)
        if dry_run:
            summaries.append(plan_run(settings, config, target, progress, batch=batch))
            continue
        summary = ExportSummary(config.code, target.name, dry_run=False)
        summary.queued = _queue(settings, who, config, target, clock, batch)
        summary.stopped = _drain(settings, who, config, target, clock, summary.outcomes, include_failed=retry_failed,
                                 backoff=False, progress=progress, after_send=after_send, policy=policy, batch=batch,
                                 counted=counted)
        if target.sweep_days:
            summary.sweep = sweep_tenant(settings, who, config, target, clock)
        summaries.append(summary)
    return summaries


def retry_export(settings: Settings, who: Actor, export_id: int, *, clock: Clock | None = None,
                 targets: TargetFactory = erp_target, policy: RetryPolicy | None = None) -> ExportOutcome:
    """The web desk's retry button: send one queued or failed row now, whatever its backoff."""
    clock = clock or SystemClock()
    with UnitOfWork(engine_for(settings)) as uow:
        row = uow.exports.get(export_id)
        tenant = uow.exports.tenant(row.tenant_id) if row else None
        if row is None or tenant is None or not who.can_see(tenant.code):
            raise NotFound(f"export {export_id}: not found")
        status, target_name = row.status, row.target
    require(who, "export", tenant.code)
    if status not in ("queued", "uncertain", "failed", "sending"):
        raise ValidationFailed(f"export {export_id}: status is {status!r}, only queued, uncertain or failed exports "
                               "are retried")
    config = settings.tenant(tenant.code)
    target = targets(settings, config)
    if target.name != target_name:
        raise ValidationFailed(f"export {export_id}: target {target_name!r} is no longer tenant {tenant.code!r}'s "
                               f"ERP ({target.name!r}); run `cspbill export` to queue it there")
    with run_claim() as runner:
        return _send(settings, who, config, target, export_id, runner, clock, None, policy)


def retry_due_exports(settings: Settings, clock: Clock, *, targets: TargetFactory = erp_target,
                      policy: RetryPolicy | None = None) -> dict[str, int]:
    """The scheduler's export-retry job: resend queued rows whose backoff has passed (and orphaned ``sending``
    rows); queues nothing new, because exporting a freshly approved batch is a person's decision."""
    who = scheduler(settings)
    counts: dict[str, int] = {}
    with UnitOfWork(engine_for(settings)) as uow:
        due = {uow.exports.tenant(tenant_id).code for tenant_id, _ in uow.exports.due_anywhere(clock.now())}
    for config in settings.tenants:
        if config.code not in due or config.erp.kind == "none":
            continue
        try:
            target = targets(settings, config)
        except ValidationFailed as exc:  # one tenant's broken ERP config must not hold up the others
            log.error("export retry skipped: tenant=%s: %s", config.code, exc)
            counts["config_error"] = counts.get("config_error", 0) + 1
            continue
        outcomes: list[ExportOutcome] = []
        _drain(settings, who, config, target, clock, outcomes, include_failed=False, backoff=True, policy=policy)
        for outcome in outcomes:
            counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts


# Steps, each in its own transaction


def _drain(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, clock: Clock,
           outcomes: list[ExportOutcome], *, include_failed: bool, backoff: bool,
           progress: Callable[[ExportOutcome], None] | None = None,
           after_send: Callable[[ExportOutcome], None] | None = None, policy: RetryPolicy | None = None,
           batch: int | None = None, counted: Counted | None = None) -> str | None:
    """Send every due row of one tenant, appending outcomes. After ``BREAKER`` retryable failures or unanswered writes
    in a row the ERP is taken to be down (or too slow): the run stops and the remaining rows keep their place in the
    queue, untouched."""
    streak = 0
    with run_claim() as runner:
        due = _due_ids(settings, config, target, clock, include_failed=include_failed, backoff=backoff, batch=batch)
        count(counted, config.code, 0, len(due))
        for done, row_id in enumerate(due, start=1):
            outcome = _send(settings, who, config, target, row_id, runner, clock, after_send, policy)
            outcomes.append(outcome)
            count(counted, config.code, done, len(due))
            if progress:
                progress(outcome)
            streak = streak + 1 if outcome.action in ("queued", "uncertain") else 0
            if streak >= BREAKER:
                log.warning("export stopped: tenant=%s target=%s: %d retryable failures in a row", config.code,
                            target.name, streak)
                return f"{target.name} unavailable: {streak} failures in a row, the rest stays queued"
    return None


def _queue(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, clock: Clock,
           batch: int | None = None) -> int:
    """Create the outbox row of every approved invoice (of ``batch``, when given) that has none for this target yet
    (one transaction)."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            raise NotFound(f"tenant {config.code!r}: not in the ledger (run `cspbill init`)")
        uow.exports.lock_tenant(tenant.id)  # two runs at once: the second sees the first's rows
        existing = uow.exports.for_target(tenant.id, target.name)
        fresh = [inv for inv in uow.exports.approved_invoices(tenant.id, batch) if inv.id not in existing]
        for invoice in fresh:
            row = uow.exports.add(invoice, target.name, erp_reference(config.code, invoice.number), now)
            uow.audit.record(who.username, "export.queue", "invoice", invoice.number, tenant.id,
                             after={"export_id": row.id, "target": target.name, "external_ref": row.external_ref},
                             at=now)
    if fresh:
        log.info("export queued: tenant=%s target=%s invoices=%d", config.code, target.name, len(fresh))
    return len(fresh)


def _due_ids(settings: Settings, config: TenantConfig, target: ErpTarget, clock: Clock, *, include_failed: bool,
             backoff: bool, batch: int | None = None) -> list[int]:
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            return []
        rows = uow.exports.due(tenant.id, target.name, now if backoff else FAR_FUTURE, include_failed=include_failed)
        if batch is not None:
            ours = {invoice.id for invoice in uow.exports.invoices_of_batch(batch)}
            rows = [row for row in rows if row.invoice_id in ours]
        return [row.id for row in rows if row.status != "sending" or orphaned(row, now)]


def _send(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, export_id: int, runner: str,
          clock: Clock, after_send: Callable[[ExportOutcome], None] | None,
          policy: RetryPolicy | None) -> ExportOutcome:
    """One row through the state machine. The claim is committed before the ERP is called; the answer after."""
    engine = engine_for(settings)
    now = clock.now()
    with UnitOfWork(engine, write=True) as uow:
        row = uow.exports.get(export_id)
        assert row is not None
        invoice = uow.exports.invoice(row.invoice_id)
        assert invoice is not None
        base = ExportOutcome(config.code, invoice.number or str(invoice.id), row.external_ref, "busy", row.id)
        if row.status == "sent":
            return ExportOutcome(**{**asdict(base), "action": "skipped", "erp_document_id": row.erp_document_id})
        if row.status == "sending" and not orphaned(row, now):
            return base
        doc, problem = None, ""
        try:
            doc = erp_document(config, uow, invoice, target.accounts())
        except UnmappedVat as exc:  # config.yaml must map it: nothing is claimed or sent, the invoice stays queued
            log.warning("export held: tenant=%s invoice=%s: %s", config.code, base.invoice_number, exc)
            row.last_error = str(exc)  # the desk's export status shows why it waits
            return ExportOutcome(**{**asdict(base), "action": "queued", "error": str(exc)})
        except ValidationFailed as exc:
            problem = str(exc)
        resumed = row.status in ("sending", "uncertain")
        if not uow.exports.claim(row.id, row.status, row.claimed_by, runner, now):
            return base
        if resumed and row.uncertain_since is None:  # a run that died mid-send: its write may still be in flight
            row.uncertain_since = dt.datetime.now(dt.UTC)
        since = row.uncertain_since.timestamp() if row.uncertain_since else None
    if doc is None:
        return _record_failure(settings, who, config, export_id, base, problem, clock, permanent=True)
    log.info("export sending: tenant=%s target=%s invoice=%s ref=%s%s", config.code, target.name,
             base.invoice_number, base.external_ref, " (resolving an uncertain send)" if resumed else "")
    bounded = replace(policy or SERVICE_POLICY, unknown_bound=target.longest_request)
    try:
        result = export_document(target.exporter, doc, policy=bounded, unknown_since=since)
        if target.post and result.ref.status != "posted" and not result.ref.totals_differ(doc):
            # Book only what the ERP computed as we did: search again, then post (posting twice fails everywhere).
            posted = export_document(target.exporter, doc, post=True, policy=bounded)
            result = replace(posted, action=result.action if result.action != "skipped" else posted.action)
    except ErpReconnectRequired as exc:  # the connection's consent is spent, not the invoice: it waits queued
        return _record_failure(settings, who, config, export_id, base, str(exc), clock, permanent=False)
    except ErpRejected as exc:
        return _record_failure(settings, who, config, export_id, base, str(exc), clock, permanent=True)
    except ErpOutcomeUnknown as exc:
        unknown_at = exc.since if isinstance(exc, ErpWriteMayLand) else time.time()
        return _record_uncertain(settings, who, config, export_id, base, str(exc), clock, unknown_at,
                                 target.longest_request)
    except ErpError as exc:
        hint = exc.retry_after if isinstance(exc, ErpUnavailable) else None
        return _record_failure(settings, who, config, export_id, base, str(exc), clock, permanent=False, hint=hint)
    action = "adopted" if resumed and result.action == "skipped" else result.action
    outcome = ExportOutcome(config.code, base.invoice_number, base.external_ref, action, export_id, result.ref.erp_id,
                            result.ref.number)
    if after_send:
        after_send(outcome)
    return _record_sent(settings, who, config, export_id, doc, result.ref, outcome, clock)


def _record_sent(settings: Settings, who: Actor, config: TenantConfig, export_id: int, doc: InvoiceDocument,
                 ref: ErpDocumentRef, outcome: ExportOutcome, clock: Clock) -> ExportOutcome:
    now = clock.now()
    differences = ref.totals_differ(doc)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.exports.get(export_id)
        assert row is not None
        row.erp_document_id, row.erp_number, row.erp_status = ref.erp_id, ref.number, ref.status
        row.erp_totals = {name: None if value is None else str(value) for name, value in
                          (("net", ref.total_net), ("vat", ref.total_vat), ("gross", ref.total_gross))}
        row.payload_hash, row.claimed_by, row.updated_at, row.next_attempt_at = payload_hash(doc), None, now, None
        row.uncertain_since = None
        invoice = uow.exports.invoice(row.invoice_id)
        assert invoice is not None
        if differences:
            row.status, row.last_error = "failed", "ERP totals differ: " + "; ".join(differences)
            outcome = ExportOutcome(**{**asdict(outcome), "action": "failed", "error": row.last_error})
        else:
            row.status, row.last_error, row.sent_at = "sent", None, now
            invoice.status = "exported"
            uow.flush()
            batch = uow.exports.batch(invoice.batch_id)
            if batch is not None and all(i.status == "exported" for i in uow.exports.invoices_of_batch(batch.id)):
                batch.status = "exported"
        uow.audit.record(who.username, f"export.{'failed' if differences else 'sent'}", "invoice", invoice.number,
                         row.tenant_id, after={"export_id": row.id, "target": row.target, "action": outcome.action,
                                               "erp_document_id": ref.erp_id, "erp_number": ref.number,
                                               "erp_totals": row.erp_totals, "gross": str(invoice.gross)},
                         detail=row.last_error, at=now)
    log.info("export %s: tenant=%s invoice=%s erp_id=%s", outcome.action, config.code, outcome.invoice_number,
             ref.erp_id)
    return outcome


def _record_failure(settings: Settings, who: Actor, config: TenantConfig, export_id: int, base: ExportOutcome,
                    error: str, clock: Clock, *, permanent: bool, hint: float | None = None) -> ExportOutcome:
    """A permanent error (or the last allowed attempt) is ``failed``; a retryable one is ``queued`` with backoff, or
    stays ``uncertain`` (whatever the attempts) when an unanswered write of this row is still unresolved."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.exports.get(export_id)
        assert row is not None
        permanent = permanent or (row.attempts >= MAX_ATTEMPTS and row.uncertain_since is None)
        row.status = "failed" if permanent else "uncertain" if row.uncertain_since else "queued"
        row.last_error, row.claimed_by, row.updated_at = error, None, now
        row.next_attempt_at = None if permanent else now + backoff(row.attempts, hint)
        uow.audit.record(who.username, "export.failed" if permanent else "export.deferred", "invoice",
                         base.invoice_number, row.tenant_id,
                         after={"export_id": row.id, "target": row.target, "attempts": row.attempts,
                                "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None},
                         detail=error, at=now)
        notices.export_failed(uow, settings, config.code, row, base.invoice_number, now)
        action = row.status
    log.warning("export %s: tenant=%s invoice=%s ref=%s: %s", "failed" if permanent else "deferred", config.code,
                base.invoice_number, base.external_ref, error)
    return ExportOutcome(**{**asdict(base), "action": action, "error": error})


def _record_uncertain(settings: Settings, who: Actor, config: TenantConfig, export_id: int, base: ExportOutcome,
                      error: str, clock: Clock, unknown_at: float, bound: float) -> ExportOutcome:
    """A write went unanswered (``unknown_at``, epoch seconds): ``uncertain``, looked up again with backoff and at the
    latest right after ``bound`` seconds, when a look-up that finds nothing allows creating it again."""
    now = clock.now()
    recheck_at = dt.datetime.fromtimestamp(unknown_at + bound, dt.UTC)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.exports.get(export_id)
        assert row is not None
        row.status, row.last_error, row.claimed_by, row.updated_at = "uncertain", error, None, now
        row.uncertain_since = dt.datetime.fromtimestamp(unknown_at, dt.UTC)
        delay = backoff(row.attempts)
        remaining = unknown_at + bound - time.time()
        if remaining > 0:
            delay = min(delay, dt.timedelta(seconds=remaining + 1))
        row.next_attempt_at = now + delay
        uow.audit.record(who.username, "export.uncertain", "invoice", base.invoice_number, row.tenant_id,
                         after={"export_id": row.id, "target": row.target, "attempts": row.attempts,
                                "uncertain_since": row.uncertain_since.isoformat(),
                                "recreate_not_before": recheck_at.isoformat(),
                                "next_attempt_at": row.next_attempt_at.isoformat()}, detail=error)
    log.warning("export uncertain: tenant=%s invoice=%s ref=%s: %s; not created again before %s", config.code,
                base.invoice_number, base.external_ref, error, recheck_at.isoformat(timespec="seconds"))
    return ExportOutcome(**{**asdict(base), "action": "uncertain", "error": error})
