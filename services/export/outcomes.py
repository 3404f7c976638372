"""What an export run reports: one outcome per invoice and one summary per legal entity (CLI, web desk, scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.export.sweep import SweepSummary


@dataclass(frozen=True)
class ExportOutcome:
    """What happened to one invoice in one run. ``action``: created, updated, adopted, posted, skipped (already in
    the ERP), queued (retryable error, will be retried), uncertain (a write went unanswered: looked up again later),
    failed (needs a person), busy (another run holds it), or for a dry run would-create, would-update, would-skip
    (and uncertain)."""

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
    sweep: SweepSummary | None = None  # the duplicate sweep after the run

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for outcome in self.outcomes:
            result[outcome.action] = result.get(outcome.action, 0) + 1
        return result
