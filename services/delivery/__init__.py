"""Invoices to customers by e-mail or Peppol through an outbox (never twice), where each delivery stands, and the
immutable archive of every document issued."""

from services.delivery.archive import (
    ArchiveEntry,
    ArchiveFile,
    VerifyResult,
    get_document,
    list_documents,
    verify_archive,
)
from services.delivery.outbox import deliver_due, deliver_invoices, resend
from services.delivery.outcomes import DeliveryOutcome, DeliverySummary
from services.delivery.status import ATTENTION, DeliveryRow, delivery_status

__all__ = ["ATTENTION", "ArchiveEntry", "ArchiveFile", "DeliveryOutcome", "DeliveryRow", "DeliverySummary",
           "VerifyResult", "deliver_due", "deliver_invoices", "delivery_status", "get_document", "list_documents",
           "resend", "verify_archive"]
