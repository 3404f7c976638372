"""E-invoice files (UBL for Peppol, ZUGFeRD / Factur-X PDF) for the approved invoices of one batch.

Why through the export document: the file must say exactly what the ERP got, so it is written from the same
``InvoiceDocument`` the outbox sends (same key, lines, VAT per rate), never recomputed here. Writing files changes no
ledger state; it is an audited action because invoices leave the system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config import Settings
from erp_export.einvoice import Format, write_files
from services.access import Actor, require
from services.errors import ValidationFailed
from services.export.documents import invoice_document
from services.export.status import find_batch
from services.export.targets import DEFAULT_REVENUE_ACCOUNT
from services.runtime import engine_for
from services.uow import UnitOfWork

FORMATS: dict[str, Format] = {"ubl": "ubl", "zugferd": "facturx"}
WRITABLE = ("approved", "exported")  # invoices with a number; drafts are never sent to a customer


@dataclass(frozen=True)
class EinvoiceFile:
    invoice_number: str
    path: Path


def write_einvoices(settings: Settings, who: Actor, batch: int | str, fmt: str, out: Path,
                    tenant: str | None = None) -> list[EinvoiceFile]:
    """One file per approved (or exported) invoice of the batch (``batch`` is its id, or ``YYYY-MM`` with
    ``tenant``) into ``out``; ``fmt`` is ``ubl`` or ``zugferd``. Raises ``ValidationFailed`` naming the invoice
    when one cannot be written."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    require(who, "finance", tenant)
    with UnitOfWork(engine_for(settings)) as uow:
        found = find_batch(uow, who, batch, tenant)
        config = settings.tenant(uow.exports.tenant(found.tenant_id).code)
        invoices = [i for i in uow.exports.invoices_of_batch(found.id) if i.status in WRITABLE]
        customers = uow.exports.customers({i.customer_id for i in invoices})
        documents = [invoice_document(config, invoice, customers[invoice.customer_id], found,
                                      DEFAULT_REVENUE_ACCOUNT) for invoice in invoices]
    if not documents:
        raise ValidationFailed(f"batch {batch!r}: has no approved invoices (status must be approved or exported)")
    written = [EinvoiceFile(doc.invoice_number, path) for doc in documents
               for path in write_files(doc, out, (FORMATS[fmt],))]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.audit.record(who.username, "einvoice.write", "batch", found.id, found.tenant_id,
                         after={"format": fmt, "files": len(written), "directory": str(out)})
    return written
