"""The export outbox: approved invoices reach the legal entity's ERP exactly once, whatever fails and when.

Why an outbox with a claim (erp.md §5): no ERP enforces uniqueness of our reference, and a write that got no answer
may have been applied. So every invoice gets one ``exports`` row per ERP target, created in the transaction that
decides to export it, carrying the invoice's deterministic ERP key. A row moves ``queued -> sending`` in its own
committed transaction *before* the ERP is called; the ERP call always starts by looking the key up (search, then
create, update or adopt); the answer is stored back as ``sent`` (ERP id, number, totals) or as a retryable error
(``queued`` again, with the error and a backoff) or a permanent one (``failed``). A row found in ``sending`` whose
run is gone (crash between the ERP's answer and our commit) is resolved by the same look-up first, so a re-run adopts
the document instead of creating a second one. After every export the ERP's totals are compared with ours
(billing-rules §6): a difference is an export error, and the invoice stays unexported until a person looks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from config import Settings
from config.schema import Tenant as TenantConfig
from erp_export.base import (
    ErpDocumentRef,
    ErpError,
    ErpRejected,
    ErpUnavailable,
    RetryPolicy,
    export_document,
)
from erp_export.documents import KEY_PATTERN, LINE_KEY_PATTERN, Address, Buyer, InvoiceDocument, InvoiceLine, Seller
from erp_export.documents import compose as compose_document
from ledger.models import Batch, Customer, Export, Invoice
from ledger.models import InvoiceLine as LedgerLine
from rating.money import minor_units
from services.access import SYSTEM, Actor, require
from services.access import actor as actor_named
from services.clock import Clock, SystemClock
from services.erp_targets import ErpTarget, erp_target
from services.errors import NotFound, ValidationFailed
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.export")

BREAKER = 3  # retryable failures in a row after which a run stops calling that ERP
MAX_ATTEMPTS = 8  # after this many runs a retryable error becomes a failure a person must look at
BACKOFF_BASE = dt.timedelta(minutes=2)
BACKOFF_CAP = dt.timedelta(hours=6)
CLAIM_TTL = dt.timedelta(minutes=30)  # a claim by a run on another host is presumed dead after this long
SERVICE_POLICY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=10.0, settle=5.0)  # in-run; the outbox does the rest
LINE_REF_MAX = 100  # the document contract's limit; adapters fit it into shorter ERP fields themselves
EXEMPTION_REASONS = {
    "AE": "Reverse charge", "K": "Intra-community supply", "E": "Exempt from VAT", "G": "Export outside the EU",
    "O": "Not subject to VAT",
}

# EAS codes (CEF code list) for VAT numbers as Peppol endpoint ids, by the party's country.
VAT_ENDPOINT_SCHEMES = {"NL": "9944", "DE": "9930", "BE": "9925", "AT": "9914", "FR": "9957", "LU": "9938"}

TargetFactory = Callable[[Settings, TenantConfig], ErpTarget]


@dataclass(frozen=True)
class ExportOutcome:
    """What happened to one invoice in one run. ``action``: created, updated, adopted, posted, skipped (already in
    the ERP), queued (retryable error, will be retried), failed (needs a person), busy (another run holds it), or for
    a dry run would-create, would-update, would-skip."""

    tenant: str
    invoice_number: str
    external_ref: str
    action: str
    export_id: int | None = None
    erp_document_id: str | None = None
    erp_number: str | None = None
    error: str | None = None


@dataclass
class ExportSummary:
    """One legal entity's run: the target and every outcome, in invoice order."""

    tenant: str
    target: str
    dry_run: bool
    outcomes: list[ExportOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the run gave up early on this ERP (the rest stays queued)
    queued: int = 0  # approved invoices this run put into the outbox

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for outcome in self.outcomes:
            result[outcome.action] = result.get(outcome.action, 0) + 1
        return result


@dataclass(frozen=True)
class ExportStatusRow:
    """One invoice of a batch with its outbox state, for the web desk's status view."""

    invoice_id: int
    invoice_number: str | None
    customer_id: int
    gross: Decimal
    currency: str
    invoice_status: str
    export_id: int | None
    target: str | None
    external_ref: str | None
    status: str | None
    attempts: int
    last_error: str | None
    erp_document_id: str | None
    erp_number: str | None
    erp_status: str | None  # draft or posted in the ERP
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None


# ---------------------------------------------------------------------------------------------------------------
# Entry points: CLI, web desk, scheduler


def export_invoices(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    *,
    dry_run: bool = False,
    retry_failed: bool = False,
    clock: Clock | None = None,
    progress: Callable[[ExportOutcome], None] | None = None,
    after_send: Callable[[ExportOutcome], None] | None = None,
    targets: TargetFactory = erp_target,
    policy: RetryPolicy | None = None,
) -> list[ExportSummary]:
    """Queue the approved invoices of ``tenant`` (default: every visible tenant with an ERP) and send what is due.

    ``dry_run`` only reads (ledger and ERP look-ups) and reports what would be created, updated or skipped.
    ``retry_failed`` also retries rows a person must look at. ``after_send`` runs after the ERP answered and before
    the answer is committed (a test hook for a crash at exactly that point). ``targets`` builds the adapter.
    """
    clock = clock or SystemClock()
    summaries = []
    for config in _tenants(settings, who, tenant):
        target = targets(settings, config)
        if dry_run:
            summaries.append(_dry_run(settings, config, target, progress))
            continue
        summary = ExportSummary(config.code, target.name, dry_run=False)
        summary.queued = _queue(settings, who, config, target, clock)
        summary.stopped = _drain(settings, who, config, target, clock, summary.outcomes, include_failed=retry_failed,
                                 backoff=False, progress=progress, after_send=after_send, policy=policy)
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
    require(who, "finance", tenant.code)
    if status not in ("queued", "failed", "sending"):
        raise ValidationFailed(f"export {export_id}: status is {status!r}, only queued or failed exports are retried")
    config = settings.tenant(tenant.code)
    target = targets(settings, config)
    if target.name != target_name:
        raise ValidationFailed(f"export {export_id}: target {target_name!r} is no longer tenant {tenant.code!r}'s "
                               f"ERP ({target.name!r}); run `cspbill export` to queue it there")
    with _run() as runner:
        return _send(settings, who, config, target, export_id, runner, clock, None, policy)


def retry_due_exports(settings: Settings, clock: Clock, *, targets: TargetFactory = erp_target,
                      policy: RetryPolicy | None = None) -> dict[str, int]:
    """The scheduler's export-retry job: resend queued rows whose backoff has passed (and orphaned ``sending``
    rows); queues nothing new, because exporting a freshly approved batch is a person's decision."""
    who = actor_named(settings, SYSTEM)
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


def export_status(settings: Settings, who: Actor, tenant: str, batch: int | str) -> list[ExportStatusRow]:
    """Every invoice of a batch (by id or ``YYYY-MM``) with its outbox rows, for the status view."""
    require(who, "finance", tenant)
    with UnitOfWork(engine_for(settings)) as uow:
        found = find_batch(uow, who, batch, tenant)
        return [_status_row(invoice, row) for invoice, row in uow.exports.for_batch(found.id)]


def find_batch(uow: UnitOfWork, who: Actor, batch: int | str, tenant: str | None) -> Batch:
    """A batch by id (``12`` or ``"12"``) or by ``YYYY-MM`` of ``tenant``; ``NotFound`` when it does not exist or
    belongs to a legal entity ``who`` may not see (or not to ``tenant`` when one is given)."""
    tenant_row = uow.tenants.by_code(tenant) if tenant else None
    if tenant and tenant_row is None:
        raise NotFound(f"tenant {tenant!r}: not found")
    if isinstance(batch, int) or batch.isdigit():
        found = uow.exports.batch(int(batch))
    elif tenant_row is None:
        raise ValidationFailed(f"batch {batch!r}: a month needs the tenant (or give the batch id)")
    else:
        found = uow.exports.batch_by_month(tenant_row.id, batch)
    owner = uow.exports.tenant(found.tenant_id) if found else None
    if found is None or owner is None or not who.can_see(owner.code) or (tenant_row and owner.id != tenant_row.id):
        raise NotFound(f"batch {batch}: not found" + (f" for tenant {tenant!r}" if tenant else ""))
    return found


# ---------------------------------------------------------------------------------------------------------------
# The ledger side of a document


def erp_reference(tenant_code: str, invoice_number: str) -> str:
    """The invoice's deterministic ERP key (erp.md §5 rule 1): ``CSP-<TENANT>-<NUMBER>`` in ``[A-Z0-9-]``, at most
    35 characters (longer ones keep their start and end a digest of the whole, so they stay unique)."""
    key = re.sub(r"[^A-Z0-9-]", "-", f"CSP-{tenant_code}-{invoice_number}".upper())
    if len(key) <= 35:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:10].upper()
    return f"{key[:24]}-{digest}"


def line_reference(line_key: str) -> str:
    """A line's reference in the ERP: the ledger's line key when the document contract accepts it, else the key with
    its ``/`` separators written as ``:`` (one-to-one for keys without ``:``), else a digest of it. Every ledger key
    maps to one stable reference, readable whenever possible."""
    if len(line_key) <= LINE_REF_MAX and LINE_KEY_PATTERN.fullmatch(line_key):
        return line_key
    readable = line_key.replace("/", ":")
    if ":" not in line_key and len(readable) <= LINE_REF_MAX and LINE_KEY_PATTERN.fullmatch(readable):
        return readable
    return "K-" + hashlib.sha256(line_key.encode()).hexdigest()[:40]


def invoice_document(config: TenantConfig, invoice: Invoice, customer: Customer, batch: Batch,
                     revenue_account: str) -> InvoiceDocument:
    """An approved ledger invoice as the adapters and e-invoice writers see it. Raises ``ValidationFailed`` naming
    the invoice and field when the ledger cannot make a valid document (missing ERP customer number, totals that do
    not add up)."""
    label = f"invoice {invoice.number or invoice.id}"
    if not invoice.number:
        raise ValidationFailed(f"{label}: number is empty (the invoice is not approved)")
    if not customer.reference:
        raise ValidationFailed(f"{label}: customer {customer.id} ({customer.name}) has no reference "
                               "(its ERP customer number)")
    first, last = _month(batch.month)
    issue = invoice.issue_date or (last + dt.timedelta(days=1))
    lines = [
        InvoiceLine(key=line_reference(line.line_key), description=line.description,
                    **dict(zip(("quantity", "unit_price"), document_quantity_and_price(line), strict=True)),
                    net_amount=line.amount, vat_category=line.vat_category, vat_rate=line.vat_rate,
                    period_start=line.period_from or first, period_end=line.period_to or last,
                    account=revenue_account)
        for line in invoice.lines
    ]
    try:
        doc = compose_document(
            lines=lines, exemption_reasons=EXEMPTION_REASONS,
            external_ref=erp_reference(config.code, invoice.number), invoice_number=invoice.number,
            issue_date=issue, due_date=None, period_start=first, period_end=last,
            seller=Seller(tenant_code=config.code, name=config.name, address=Address(config.country),
                          vat_id=config.vat_id, **_endpoint(config.vat_id, config.country)),
            buyer=Buyer(erp_customer_number=customer.reference, name=customer.name,
                        address=Address(customer.country or config.country), vat_id=customer.vat_id,
                        **_endpoint(customer.vat_id, customer.country or config.country)),
            currency=invoice.currency, note=f"Cloud services {batch.month}",
        )
    except ValueError as exc:
        raise ValidationFailed(f"{label}: {exc}") from exc
    ours = (invoice.net, invoice.vat, invoice.gross)
    if (doc.total_net, doc.total_vat, doc.total_gross) != ours:
        raise ValidationFailed(f"{label}: net/vat/gross {'/'.join(map(str, ours))} in the ledger != "
                               f"{doc.total_net}/{doc.total_vat}/{doc.total_gross} from its lines")
    assert KEY_PATTERN.fullmatch(doc.external_ref)
    return doc


UNIT_PRICE_STEP = Decimal("0.000001")  # BT-146 may carry more decimals than the currency


def document_quantity_and_price(line: LedgerLine) -> tuple[Decimal, Decimal]:
    """Quantity and unit price for the ERP and the e-invoice, so that quantity × price rounds to the line's amount.

    ERPs recompute a line as quantity × unit price, and EN 16931 requires the same (PEPPOL-EN16931-R120) with a net
    price that is never negative (BR-27). A prorated line (12 seats × 34.96 × 5/30) or a credit (-58.27 for 10 seats)
    therefore goes out as its seats with the *effective* unit price for the stretch (amount / seats, to six decimals)
    and, for a credit, a negative quantity; the formula stays in the description and the lineage.
    """
    amount, quantity = line.amount, abs(line.quantity)
    step = Decimal(1).scaleb(-minor_units(line.currency))
    as_billed = (line.quantity * line.unit_price).quantize(step, ROUND_HALF_UP)
    if amount >= 0 and line.unit_price >= 0 and as_billed == amount:
        return line.quantity, line.unit_price
    sign = Decimal(-1) if amount < 0 else Decimal(1)
    if quantity:
        price = (abs(amount) / quantity).quantize(UNIT_PRICE_STEP, ROUND_HALF_UP)
        if (quantity * price).quantize(step, ROUND_HALF_UP) == abs(amount):
            return sign * quantity, price
    return sign, abs(amount)


def payload_hash(doc: InvoiceDocument) -> str:
    """A digest of what was sent, stored with the row so a later change of the same invoice is visible."""
    return hashlib.sha256(json.dumps(asdict(doc), sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Steps, each in its own transaction


def _tenants(settings: Settings, who: Actor, tenant: str | None) -> list[TenantConfig]:
    if tenant is not None:
        require(who, "finance", tenant)
        try:
            config = settings.tenant(tenant)
        except KeyError as exc:
            raise NotFound(f"tenant {tenant!r}: not in config.yaml tenants") from exc
        if config.erp.kind == "none":
            raise ValidationFailed(f"tenant {tenant!r}: erp.kind is 'none', there is no ERP to export to")
        return [config]
    require(who, "finance")
    return [t for t in settings.tenants if who.can_see(t.code) and t.erp.kind != "none"]


def _drain(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, clock: Clock,
           outcomes: list[ExportOutcome], *, include_failed: bool, backoff: bool,
           progress: Callable[[ExportOutcome], None] | None = None,
           after_send: Callable[[ExportOutcome], None] | None = None, policy: RetryPolicy | None = None) -> str | None:
    """Send every due row of one tenant, appending outcomes. After ``BREAKER`` retryable failures in a row the ERP is
    taken to be down: the run stops and the remaining rows keep their place in the queue, untouched."""
    streak = 0
    with _run() as runner:
        for row_id in _due_ids(settings, config, target, clock, include_failed=include_failed, backoff=backoff):
            outcome = _send(settings, who, config, target, row_id, runner, clock, after_send, policy)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
            streak = streak + 1 if outcome.action == "queued" else 0
            if streak >= BREAKER:
                log.warning("export stopped: tenant=%s target=%s: %d retryable failures in a row", config.code,
                            target.name, streak)
                return f"{target.name} unavailable: {streak} failures in a row, the rest stays queued"
    return None


def _queue(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, clock: Clock) -> int:
    """Create the outbox row of every approved invoice that has none for this target yet (one transaction)."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            raise NotFound(f"tenant {config.code!r}: not in the ledger (run `cspbill init`)")
        uow.exports.lock_tenant(tenant.id)  # two runs at once: the second sees the first's rows
        existing = uow.exports.for_target(tenant.id, target.name)
        fresh = [inv for inv in uow.exports.approved_invoices(tenant.id) if inv.id not in existing]
        for invoice in fresh:
            row = uow.exports.add(invoice, target.name, erp_reference(config.code, invoice.number), now)
            uow.audit.record(who.username, "export.queue", "invoice", invoice.number, tenant.id,
                             after={"export_id": row.id, "target": target.name, "external_ref": row.external_ref})
    if fresh:
        log.info("export queued: tenant=%s target=%s invoices=%d", config.code, target.name, len(fresh))
    return len(fresh)


def _due_ids(settings: Settings, config: TenantConfig, target: ErpTarget, clock: Clock, *, include_failed: bool,
             backoff: bool) -> list[int]:
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            return []
        rows = uow.exports.due(tenant.id, target.name, now if backoff else _FAR_FUTURE, include_failed=include_failed)
        return [row.id for row in rows if row.status != "sending" or _orphaned(row, now)]


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
        if row.status == "sending" and not _orphaned(row, now):
            return base
        resumed = row.status == "sending"
        if not uow.exports.claim(row.id, row.status, row.claimed_by, runner, now):
            return base
        doc, problem = None, ""
        try:
            doc = invoice_document(config, invoice, _customer(uow, invoice), uow.exports.batch(invoice.batch_id),
                                   target.revenue_account)
        except ValidationFailed as exc:
            problem = str(exc)
    if doc is None:
        return _record_failure(settings, who, config, export_id, base, problem, clock, permanent=True)
    log.info("export sending: tenant=%s target=%s invoice=%s ref=%s%s", config.code, target.name,
             base.invoice_number, base.external_ref, " (resolving an interrupted send)" if resumed else "")
    try:
        result = export_document(target.exporter, doc, policy=policy or SERVICE_POLICY)
        if target.post and result.ref.status != "posted" and not result.ref.totals_differ(doc):
            # Book only what the ERP computed as we did: search again, then post (posting twice fails everywhere).
            posted = export_document(target.exporter, doc, post=True, policy=policy or SERVICE_POLICY)
            result = replace(posted, action=result.action if result.action != "skipped" else posted.action)
    except ErpRejected as exc:
        return _record_failure(settings, who, config, export_id, base, str(exc), clock, permanent=True)
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
                         detail=row.last_error)
    log.info("export %s: tenant=%s invoice=%s erp_id=%s", outcome.action, config.code, outcome.invoice_number,
             ref.erp_id)
    return outcome


def _record_failure(settings: Settings, who: Actor, config: TenantConfig, export_id: int, base: ExportOutcome,
                    error: str, clock: Clock, *, permanent: bool, hint: float | None = None) -> ExportOutcome:
    """A permanent error (or the last allowed attempt) is ``failed``; a retryable one is ``queued`` with backoff."""
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.exports.get(export_id)
        assert row is not None
        permanent = permanent or row.attempts >= MAX_ATTEMPTS
        row.status = "failed" if permanent else "queued"
        row.last_error, row.claimed_by, row.updated_at = error, None, now
        row.next_attempt_at = None if permanent else now + _backoff(row.attempts, hint)
        uow.audit.record(who.username, "export.failed" if permanent else "export.deferred", "invoice",
                         base.invoice_number, row.tenant_id,
                         after={"export_id": row.id, "target": row.target, "attempts": row.attempts,
                                "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None},
                         detail=error)
    log.warning("export %s: tenant=%s invoice=%s ref=%s: %s", "failed" if permanent else "deferred", config.code,
                base.invoice_number, base.external_ref, error)
    return ExportOutcome(**{**asdict(base), "action": "failed" if permanent else "queued", "error": error})


def _dry_run(settings: Settings, config: TenantConfig, target: ErpTarget,
             progress: Callable[[ExportOutcome], None] | None) -> ExportSummary:
    """What a run would do: ERP look-ups only, no write anywhere (no outbox row, no audit event)."""
    summary = ExportSummary(config.code, target.name, dry_run=True)
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            return summary
        existing = uow.exports.for_target(tenant.id, target.name)
        work = []
        for invoice in uow.exports.approved_invoices(tenant.id):
            row = existing.get(invoice.id)
            if row is not None and row.status == "sent":
                continue
            try:
                work.append((invoice, row, invoice_document(config, invoice, _customer(uow, invoice),
                                                            uow.exports.batch(invoice.batch_id),
                                                            target.revenue_account)))
            except ValidationFailed as exc:
                work.append((invoice, row, str(exc)))
    for invoice, row, doc in work:
        ref = erp_reference(config.code, invoice.number)
        export_id = row.id if row else None
        if isinstance(doc, str):
            outcome = ExportOutcome(config.code, invoice.number, ref, "failed", export_id, error=doc)
        else:
            try:
                outcome = ExportOutcome(config.code, invoice.number, ref, f"would-{target.exporter.plan(doc)}",
                                        export_id)
            except ErpError as exc:
                outcome = ExportOutcome(config.code, invoice.number, ref, "failed", export_id, error=str(exc))
        summary.outcomes.append(outcome)
        if progress:
            progress(outcome)
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Helpers

_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)
_HOST = socket.gethostname()
_active: set[str] = set()
_active_lock = threading.Lock()


@contextmanager
def _run() -> Iterator[str]:
    """A run id ``host:pid:token`` that claims rows; live while the run is, so its claims are never stolen."""
    runner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _active_lock:
        _active.add(runner)
    try:
        yield runner
    finally:
        with _active_lock:
            _active.discard(runner)


def _orphaned(row: Export, now: dt.datetime) -> bool:
    """Is the run that claimed this ``sending`` row gone? Ours: gone when no longer active; another process on this
    host: gone when its pid is; another host: when the claim is older than ``CLAIM_TTL``."""
    if not row.claimed_by:
        return True
    host, pid, _token = [*row.claimed_by.rsplit(":", 2), "", ""][:3]
    if host == _HOST and pid == str(os.getpid()):
        with _active_lock:
            return row.claimed_by not in _active
    if host == _HOST and pid.isdigit():
        return not _alive(int(pid))
    return row.claimed_at is None or now - row.claimed_at > CLAIM_TTL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _backoff(attempts: int, hint: float | None) -> dt.timedelta:
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return max(delay, dt.timedelta(seconds=hint or 0))


def _customer(uow: UnitOfWork, invoice: Invoice) -> Customer:
    customer = uow.exports.customers({invoice.customer_id}).get(invoice.customer_id)
    if customer is None:
        raise ValidationFailed(f"invoice {invoice.number}: customer {invoice.customer_id} does not exist")
    return customer


def _endpoint(vat_id: str | None, country: str) -> dict[str, str]:
    """The Peppol electronic address (BT-34/BT-49) a party is reached at by default: its VAT number, with the EAS
    scheme of that country's VAT numbers. Countries without a scheme here get none (the e-invoice omits it)."""
    scheme = VAT_ENDPOINT_SCHEMES.get(country)
    if not vat_id or scheme is None:
        return {}
    return {"electronic_address": vat_id, "electronic_scheme": scheme}


def _month(month: str) -> tuple[dt.date, dt.date]:
    """First and last (inclusive) day of ``YYYY-MM``."""
    year, number = (int(part) for part in month.split("-"))
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _status_row(invoice: Invoice, row: Export | None) -> ExportStatusRow:
    return ExportStatusRow(
        invoice_id=invoice.id, invoice_number=invoice.number, customer_id=invoice.customer_id, gross=invoice.gross,
        currency=invoice.currency, invoice_status=invoice.status, export_id=row.id if row else None,
        target=row.target if row else None, external_ref=row.external_ref if row else None,
        status=row.status if row else None, attempts=row.attempts if row else 0,
        last_error=row.last_error if row else None, erp_document_id=row.erp_document_id if row else None,
        erp_number=row.erp_number if row else None, erp_status=row.erp_status if row else None,
        next_attempt_at=row.next_attempt_at if row else None,
        sent_at=row.sent_at if row else None,
    )
