"""The duplicate sweep: every recently sent invoice looked up in its ERP by external reference; more than one document
is a finding.

Why, although the outbox never creates without a look-up: no ERP enforces uniqueness of our reference (erp.md §5),
and a write can land long after we gave up on it, or a person can copy a document by hand. The sweep runs after every
export and on its own schedule (``schedule.duplicate_sweep``), over the invoices sent within the target's
``sweep_days``. Of several copies one is kept (a posted one, else the one the ledger names); an extra draft that was
never posted is deleted where the ERP allows it (BC: ``DELETE salesInvoices({id})``, SOAP ``Delete``, Exact ``DELETE``
of an open entry), audited; a posted extra is only reported: reversing a booking is an accountant's decision. Each
finding is an ``erp_duplicates`` row the finance page shows with every ERP id, open while more than one copy remains.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from config import Settings
from config.schema import Tenant as TenantConfig
from erp_export.base import ErpDocumentRef, ErpError, ErpSweeping
from ledger.models import CREDIT_NOTE, INVOICE, ErpDuplicate, Export, Invoice
from services.access import Actor, readable_tenants
from services.clock import Clock, SystemClock
from services.errors import ValidationFailed
from services.export.targets import ErpTarget, erp_target, tenants_with_erp
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.export.sweep")

RESOLVED_SHOWN = dt.timedelta(days=30)  # resolved findings stay on the finance page this long


@dataclass(frozen=True)
class DuplicateFinding:
    """One external reference with several ERP documents; ``documents``: erp_id, number, status, and what the sweep
    did with each (kept, removed, reported, delete_failed)."""

    id: int
    tenant: str
    invoice_id: int
    target: str
    external_ref: str
    documents: list[dict[str, Any]]
    status: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime


@dataclass
class SweepSummary:
    """One legal entity's sweep: how many invoices were looked up, the findings, and look-ups that failed."""

    tenant: str
    target: str
    checked: int = 0
    findings: list[DuplicateFinding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why this ERP was not swept

    def counts(self) -> dict[str, int]:
        outcomes = [doc["outcome"] for finding in self.findings for doc in finding.documents]
        return {"checked": self.checked, "duplicates": len(self.findings), "removed": outcomes.count("removed"),
                "reported": outcomes.count("reported") + outcomes.count("delete_failed"), "errors": len(self.errors)}


TargetFactory = Callable[[Settings, TenantConfig], ErpTarget]


def sweep_duplicates(settings: Settings, who: Actor, tenant: str | None = None, *, days: int | None = None,
                     clock: Clock | None = None, targets: TargetFactory = erp_target) -> list[SweepSummary]:
    """`cspbill export sweep` and the scheduled job: sweep ``tenant`` (default: every visible one with an ERP) over
    the last ``days`` (default: each target's ``sweep_days``)."""
    clock = clock or SystemClock()
    summaries = []
    with UnitOfWork(engine_for(settings)) as uow:  # removing a draft in the ERP needs a live session
        confirm(uow, who)
    for config in tenants_with_erp(settings, who, tenant):
        try:
            target = targets(settings, config)
        except ValidationFailed as exc:  # one tenant's broken ERP config must not hold up the others
            summaries.append(SweepSummary(config.code, config.erp.kind, skipped=str(exc)))
            continue
        summaries.append(sweep_tenant(settings, who, config, target, clock, days=days))
    return summaries


def sweep_tenant(settings: Settings, who: Actor, config: TenantConfig, target: ErpTarget, clock: Clock, *,
                 days: int | None = None) -> SweepSummary:
    """Look up every invoice of one legal entity sent to ``target`` within the window, and record what is found."""
    summary = SweepSummary(config.code, target.name)
    exporter = target.exporter
    if not isinstance(exporter, ErpSweeping):
        summary.skipped = f"{target.name} cannot list documents by external reference"
        return summary
    since = clock.now() - dt.timedelta(days=target.sweep_days if days is None else days)
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        sent = [] if tenant is None else [
            (row.id, row.invoice_id, row.external_ref, row.erp_document_id, invoice.document_type)
            for row, invoice in uow.exports.sent_since(tenant.id, target.name, since)]
        still_open = set() if tenant is None else {
            found.external_ref for found in uow.exports.duplicates([tenant.id], clock.now())
            if found.status == "open" and found.target == target.name}
    for export_id, invoice_id, ref, recorded, type_code in sent:
        try:
            copies = exporter.find_all(ref, CREDIT_NOTE if type_code == CREDIT_NOTE else INVOICE)
        except ErpError as exc:
            summary.errors.append(f"{ref}: {exc}")
            continue
        summary.checked += 1
        if len(copies) > 1:
            documents = _resolve(exporter, copies, recorded)
            summary.findings.append(_record(settings, who, export_id, invoice_id, target.name, ref, documents, clock))
        elif ref in still_open:
            _close(settings, target.name, ref, clock)
    if summary.findings or summary.errors:
        log.warning("duplicate sweep: tenant=%s target=%s %s", config.code, target.name, summary.counts())
    return summary


def duplicate_findings(settings: Settings, who: Actor, tenant: str | None = None,
                       clock: Clock | None = None) -> list[DuplicateFinding]:
    """Open findings, and those resolved in the last 30 days, of the legal entities ``who`` may see (finance page)."""
    now = (clock or SystemClock()).now()
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        return [_finding(row, tenants[row.tenant_id]) for row in uow.exports.duplicates(list(tenants),
                                                                                          now - RESOLVED_SHOWN)]


def _resolve(exporter: ErpSweeping, copies: Sequence[ErpDocumentRef], recorded: str | None) -> list[dict[str, Any]]:
    """Keep one copy (posted first, then the one the ledger names), delete extra drafts, report extra posted ones."""
    keep = min(copies, key=lambda ref: (ref.status != "posted", ref.erp_id != recorded))
    documents = []
    for ref in copies:
        outcome, error = "kept" if ref is keep else "reported" if ref.status == "posted" else "removed", None
        if outcome == "removed":
            try:
                exporter.delete_draft(ref)
            except ErpError as exc:
                outcome, error = "delete_failed", str(exc)
        documents.append({"erp_id": ref.erp_id, "number": ref.number, "status": ref.status, "outcome": outcome,
                          "recorded": ref.erp_id == recorded, **({"error": error} if error else {})})
    return documents


def _record(settings: Settings, who: Actor, export_id: int, invoice_id: int, target: str, ref: str,
            documents: list[dict[str, Any]], clock: Clock) -> DuplicateFinding:
    """Store the finding (one row per target and reference), audit it and every deleted draft, and point the outbox
    row at the kept copy when the ledger named another one."""
    now = clock.now()
    remaining = [doc for doc in documents if doc["outcome"] != "removed"]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.session.get(Export, export_id)
        invoice = uow.session.get(Invoice, invoice_id)
        assert row is not None and invoice is not None
        finding = uow.exports.duplicate(target, ref)
        if finding is None:
            finding = ErpDuplicate(tenant_id=row.tenant_id, invoice_id=invoice_id, export_id=export_id, target=target,
                                   external_ref=ref, first_seen_at=now)
            uow.session.add(finding)
        finding.documents, finding.last_seen_at = documents, now
        finding.status = "open" if len(remaining) > 1 else "resolved"
        uow.audit.record(who.username, "export.duplicate_found", "invoice", invoice.number, row.tenant_id,
                         after={"export_id": export_id, "target": target, "external_ref": ref,
                                "documents": documents})
        for doc in documents:
            if doc["outcome"] == "removed":
                uow.audit.record(who.username, "export.duplicate_removed", "invoice", invoice.number, row.tenant_id,
                                 before={"erp_id": doc["erp_id"], "number": doc["number"], "status": doc["status"]},
                                 after={"export_id": export_id, "target": target, "external_ref": ref})
        kept = next(doc for doc in documents if doc["outcome"] == "kept")
        if kept["erp_id"] != row.erp_document_id:
            uow.audit.record(who.username, "export.duplicate_kept", "invoice", invoice.number, row.tenant_id,
                             before={"erp_document_id": row.erp_document_id}, after={"erp_document_id": kept["erp_id"]})
            row.erp_document_id, row.erp_number, row.erp_status = kept["erp_id"], kept["number"], kept["status"]
        uow.flush()
        tenant = uow.exports.tenant(row.tenant_id)
        assert tenant is not None
        return _finding(finding, tenant.code)


def _close(settings: Settings, target: str, ref: str, clock: Clock) -> None:
    """One copy left: the open finding for this reference is resolved (a person removed the extra one)."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        finding = uow.exports.duplicate(target, ref)
        if finding is not None and finding.status == "open":
            finding.status, finding.last_seen_at = "resolved", clock.now()


def _finding(row: ErpDuplicate, tenant: str) -> DuplicateFinding:
    return DuplicateFinding(row.id, tenant, row.invoice_id, row.target, row.external_ref, list(row.documents),
                            row.status, row.first_seen_at, row.last_seen_at)
