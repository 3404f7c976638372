"""Month-end batches: build (should-be-billed minus already-billed), review, four-eyes approval with gapless
numbers, and the rating-case calculator support uses to re-compute a disputed line.

The modules behind it: ``build`` (the draft of a legal entity and month), ``months`` (which months a batch owns),
``timeline`` (a subscription's quantities and prices from the ledger), ``licences`` and ``usage`` (rated lines),
``prices`` (the price book from ledger and config), ``diff`` (corrections), ``lines`` (keys and line shapes),
``invoicing`` (grouping and VAT), ``review`` (totals, diff against last month, lineage, pages), ``findings`` and
``acknowledgements`` (what blocks approval, and who accepted what), ``approval`` and ``numbering``, ``rate_case``.
"""

from services.batches.acknowledgements import Acknowledgement, acknowledge_finding, batch_review_findings
from services.batches.approval import ApprovalReport, RejectionReport, approve_batch, reject_batch
from services.batches.build import BuildReport, build_batch
from services.batches.inputs import InputRecord, input_record
from services.batches.rate_case import rate_case, rate_case_file
from services.batches.review import (
    CUSTOMER_CHANGES,
    FINDINGS,
    SUBSCRIPTION_CHANGES,
    batch_invoices,
    batch_summary,
    batch_tenant,
    explain_line,
    invoice_detail,
    list_batches,
    monthly_totals,
)

__all__ = [
    "CUSTOMER_CHANGES",
    "FINDINGS",
    "SUBSCRIPTION_CHANGES",
    "Acknowledgement",
    "ApprovalReport",
    "BuildReport",
    "InputRecord",
    "RejectionReport",
    "acknowledge_finding",
    "approve_batch",
    "batch_invoices",
    "batch_review_findings",
    "batch_summary",
    "batch_tenant",
    "build_batch",
    "explain_line",
    "input_record",
    "invoice_detail",
    "list_batches",
    "monthly_totals",
    "rate_case",
    "rate_case_file",
    "reject_batch",
]
