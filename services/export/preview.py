"""One batch on its way to the ERP: what each invoice will be there (the dry run, classified) and where each stands
in the outbox now (progress), for the web desk's export page of a batch.

A batch may hold hundreds of thousands of invoices, so the page is one window of them by invoice key (as the batch
page lists them, ``services.paging.KeyPage``), the progress line is counted by the database over the whole batch,
and the preview looks up in the ERP only the invoices of the window shown.

Why a service of its own: the page shows the same facts the CLI's ``export --dry-run`` and the outbox decide, read
per batch, with the customer and amount a person checks before pressing "Export all". The classification is one
table (``KIND_OF_PLAN``): *create* (not in the ERP yet), *unchanged* (already there as we would send it, or sent),
*correction* (in the ERP as a draft that differs: the export updates it), *uncertain* (an earlier write went
unanswered), *blocked* (the ledger cannot make a valid document, or the ERP look-up failed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from config import Settings
from ledger.models import CREDIT_NOTE
from services.access import Actor, require
from services.errors import ValidationFailed
from services.export.dry_run import dry_run
from services.export.status import find_batch
from services.export.targets import erp_target
from services.paging import KeyPage, per_page_bounds
from services.runtime import engine_for
from services.uow import UnitOfWork

# a dry run's action -> what the ERP target receives
KIND_OF_PLAN = {"would-create": "create", "would-update": "correction", "would-skip": "unchanged",
                "uncertain": "uncertain", "failed": "blocked"}
DONE, FAILED = "sent", "failed"
PER_PAGE = 50


@dataclass(frozen=True)
class PreviewRow:
    """One invoice of the batch: what it is, where it stands in the outbox, and (previewed) what the ERP receives."""

    invoice_id: int
    number: str | None
    customer: str
    credit_note: bool
    net: Decimal
    gross: Decimal
    currency: str
    invoice_status: str  # approved, exported
    status: str | None  # the outbox row's status; None when never queued
    last_error: str | None  # the ERP's sentence of the last failed attempt
    erp_document: str | None
    kind: str | None = None  # create, unchanged, correction, uncertain, blocked; None when not previewed
    detail: str | None = None  # why blocked or uncertain


@dataclass(frozen=True)
class BatchExport:
    """A batch's export page: one window of its invoices (``rows``, paged by ``page``), the ERP target, and the
    counts of the progress line over the whole batch."""

    batch_id: int
    tenant: str
    month: str
    batch_status: str
    target: str | None  # the legal entity's ERP kind; None when it exports nowhere (erp.kind none)
    rows: list[PreviewRow]
    page: KeyPage  # the window's invoice keys, whether there are more either way, and the batch's invoice count
    statuses: dict[str, int]  # invoices of the whole batch per outbox status (never queued: not counted)
    previewed: bool = False

    @property
    def exportable(self) -> bool:
        return self.target is not None and self.batch_status in ("approved", "exported")

    def counts(self) -> dict[str, int]:
        """total, done (sent), failed, and waiting (queued, sending or uncertain) invoices of the whole batch."""
        waiting = sum(count for status, count in self.statuses.items() if status not in (DONE, FAILED))
        return {"total": self.page.total, "done": self.statuses.get(DONE, 0), "failed": self.statuses.get(FAILED, 0),
                "waiting": waiting}


def classify(invoice_status: str, status: str | None, planned: str | None) -> str:
    """What the ERP target receives for an invoice whose outbox row is ``status`` and whose dry-run action is
    ``planned`` (None when the dry run did not look at it: it only looks at approved invoices not sent yet)."""
    if status == DONE or invoice_status == "exported":
        return "unchanged"
    if planned is None:
        raise ValidationFailed(f"invoice status {invoice_status!r}, outbox status {status!r}: not planned by the "
                               "dry run (only approved invoices are exported)")
    return KIND_OF_PLAN[planned]


def batch_export(settings: Settings, who: Actor, batch_id: int, *, preview: bool = False, after: str | None = None,
                 before: str | None = None, per_page: int = PER_PAGE) -> BatchExport:
    """A window of the batch's invoices in invoice-key order with their outbox state (``after`` / ``before`` an
    invoice key, as ``services.batches.batch_invoices`` pages them), and the progress over the whole batch; with
    ``preview`` also what the ERP will receive for each invoice of the window (ERP look-ups for those only, nothing
    written). Finance role; ``NotFound`` for a batch of a legal entity ``who`` may not see."""
    per_page = per_page_bounds(per_page)
    with UnitOfWork(engine_for(settings)) as uow:
        found = find_batch(uow, who, batch_id, None)
        tenant = uow.exports.tenant(found.tenant_id)
        assert tenant is not None
        window, more_before, more_after = uow.invoices.page_by_key(found.id, per_page, after, before)
        latest = uow.exports.latest_of([invoice.id for invoice in window])
        rows = []
        for invoice in window:
            row = latest.get(invoice.id)
            rows.append(PreviewRow(invoice.id, invoice.number, invoice.customer, invoice.document_type == CREDIT_NOTE,
                                   invoice.net, invoice.gross, invoice.currency, invoice.status,
                                   row.status if row else None, row.last_error if row else None,
                                   (row.erp_number or row.erp_document_id) if row else None))
        page = KeyPage([{"invoice_key": invoice.invoice_key} for invoice in window], uow.invoices.count(found.id),
                       per_page, more_before, more_after, "invoice_key")
        statuses = uow.exports.status_counts(found.id)
        code, month, status = tenant.code, found.month, found.status
    require(who, "finance", code)
    config = settings.tenant(code)
    result = BatchExport(batch_id, code, month, status, None if config.erp.kind == "none" else config.erp.kind, rows,
                         page, statuses)
    if not preview or not result.exportable:
        return result
    require(who, "export", code)
    summary = dry_run(settings, config, erp_target(settings, config), None, batch=batch_id,
                      invoices=[row.invoice_id for row in rows])
    planned = {outcome.invoice_number: outcome for outcome in summary.outcomes}
    previewed = []
    for row in rows:
        outcome = planned.get(row.number or "")
        try:
            kind = classify(row.invoice_status, row.status, outcome.action if outcome else None)
        except ValidationFailed as exc:
            raise ValidationFailed(f"batch {batch_id}: invoice {row.number or row.invoice_id}: {exc}") from exc
        previewed.append(replace(row, kind=kind, detail=outcome.error if outcome else None))
    return replace(result, rows=previewed, previewed=True)
