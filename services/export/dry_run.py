"""``cspbill export --dry-run``: what a run would do, from ERP look-ups only; no write anywhere.

Why apart from the outbox: it shares the documents and the plan of each adapter but none of the claims and state
changes, and it must say "uncertain" for a row whose earlier write went unanswered, never "nothing to do".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import replace

from config import Settings
from config.schema import Tenant as TenantConfig
from erp_export.base import ErpError
from ledger.models import Export
from services.errors import ValidationFailed
from services.export.documents import erp_reference
from services.export.erp_mapping import erp_document
from services.export.outcomes import ExportOutcome, ExportSummary
from services.export.targets import ErpTarget
from services.runtime import engine_for
from services.uow import UnitOfWork


def dry_run(settings: Settings, config: TenantConfig, target: ErpTarget,
            progress: Callable[[ExportOutcome], None] | None, *, batch: int | None = None,
            invoices: Collection[int] | None = None) -> ExportSummary:
    """What a run would do (for the invoices of ``batch`` and among the ids ``invoices``, when given): ERP look-ups
    only, no write anywhere (no outbox row, no audit event)."""
    summary = ExportSummary(config.code, target.name, dry_run=True)
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code(config.code)
        if tenant is None:
            return summary
        existing = uow.exports.for_target(tenant.id, target.name, invoices)
        work = []
        for invoice in uow.exports.approved_invoices(tenant.id, batch, invoices):
            row = existing.get(invoice.id)
            if row is not None and row.status == "sent":
                continue
            try:
                work.append((invoice, row, erp_document(config, uow, invoice, target.accounts())))
            except ValidationFailed as exc:
                work.append((invoice, row, str(exc)))
    for invoice, row, doc in work:
        ref = erp_reference(config.code, invoice.number)
        export_id = row.id if row else None
        if isinstance(doc, str):
            outcome = ExportOutcome(config.code, invoice.number, ref, "failed", export_id, error=doc)
        else:
            try:
                plan = target.exporter.plan(doc)
                outcome = ExportOutcome(config.code, invoice.number, ref, f"would-{plan}", export_id)
                if row is not None and row.status in ("uncertain", "sending"):
                    outcome = replace(outcome, action="uncertain", error=_pending(row, plan, target))
            except ErpError as exc:
                outcome = ExportOutcome(config.code, invoice.number, ref, "failed", export_id, error=str(exc))
        summary.outcomes.append(outcome)
        if progress:
            progress(outcome)
    return summary


def _pending(row: Export, plan: str, target: ErpTarget) -> str:
    """What the next run does with an uncertain (or interrupted) row, for the dry run."""
    if plan != "create":
        return "an unanswered write landed: the next run adopts it"
    since = row.uncertain_since or dt.datetime.now(dt.UTC)
    after = since + dt.timedelta(seconds=target.longest_request)
    return (f"outcome of a send unknown since {since.isoformat(timespec='seconds')}; not in the ERP yet: looked up "
            f"again, created again only by a look-up after {after.isoformat(timespec='seconds')}")
