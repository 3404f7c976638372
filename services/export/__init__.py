"""Approved invoices into the legal entity's ERP exactly once (the outbox), what the ERP is sent (documents), where
each invoice stands (status), the duplicate sweep over what was sent, and e-invoice files written from the same
documents."""

from services.export.documents import LINE_REF_MAX, document_quantity_and_price, erp_reference, line_reference
from services.export.einvoices import EinvoiceFile, InvoiceFile, invoice_files, recipient_formats, write_einvoices
from services.export.outbox import export_invoices, retry_due_exports, retry_export
from services.export.outcomes import ExportOutcome, ExportSummary
from services.export.outstanding import outstanding
from services.export.preview import BatchExport, PreviewRow, batch_export, classify
from services.export.status import (
    ExportRow,
    ExportStatusRow,
    InvoicePlace,
    export_states,
    export_status,
    export_tenant,
    invoice_place,
)
from services.export.sweep import DuplicateFinding, SweepSummary, duplicate_findings, sweep_duplicates
from services.export.targets import ErpTarget, erp_target

__all__ = [
    "LINE_REF_MAX",
    "BatchExport",
    "DuplicateFinding",
    "EinvoiceFile",
    "ErpTarget",
    "ExportOutcome",
    "ExportRow",
    "ExportStatusRow",
    "ExportSummary",
    "InvoiceFile",
    "InvoicePlace",
    "PreviewRow",
    "SweepSummary",
    "batch_export",
    "classify",
    "document_quantity_and_price",
    "duplicate_findings",
    "erp_reference",
    "erp_target",
    "export_invoices",
    "export_states",
    "export_status",
    "export_tenant",
    "invoice_files",
    "invoice_place",
    "line_reference",
    "outstanding",
    "recipient_formats",
    "retry_due_exports",
    "retry_export",
    "sweep_duplicates",
    "write_einvoices",
]
