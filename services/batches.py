"""Month-end batches: the one doorway the CLI, the web desk, the scheduler, the export service and the demo use.

The work lives in small modules (``batch_build``: should-be minus billed; ``approval`` and ``numbering``: four-eyes
and gapless numbers; ``batch_review``: totals, diffs, lineage and paginated queries); this module names the public
use cases so callers do not depend on that split.
"""

from __future__ import annotations

from services.approval import ApprovalReport, RejectionReport, approve_batch, reject_batch
from services.batch_build import BuildReport, build_batch
from services.batch_review import (
    Page,
    batch_invoices,
    batch_summary,
    explain_line,
    invoice_detail,
    list_batches,
    monthly_totals,
)

__all__ = [
    "ApprovalReport",
    "BuildReport",
    "Page",
    "RejectionReport",
    "approve_batch",
    "batch_invoices",
    "batch_summary",
    "build_batch",
    "explain_line",
    "invoice_detail",
    "list_batches",
    "monthly_totals",
    "reject_batch",
]
