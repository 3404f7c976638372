"""E-invoice files (UBL for Peppol, CII, Factur-X PDF, XRechnung, the plain PDF) of approved invoices.

Why through the export document: the file must say exactly what the ERP got, so it is written from the same
``InvoiceDocument`` the outbox sends (same key, lines, VAT per rate), never recomputed here. Writing files changes no
ledger state; it is an audited action because invoices leave the system. :func:`invoice_files` is the doorway for
one invoice (the desk's downloads and the delivery service), :func:`write_einvoices` for a batch (``cspbill
einvoice``); :func:`recipient_formats` says which files a customer's channel gets.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from config import Settings
from erp_export.documents import InvoiceDocument
from erp_export.einvoice import MEDIA_TYPES, WRITERS, Format, render
from ledger.models import Batch, Customer, Invoice
from services.access import Actor, owned, readable_tenants, require
from services.errors import ValidationFailed
from services.export.documents import invoice_document
from services.export.issued import issue_once
from services.export.status import find_batch
from services.export.targets import DEFAULT_REVENUE_ACCOUNT
from services.runtime import engine_for
from services.uow import UnitOfWork

FORMATS: dict[str, Format] = {"ubl": "ubl", "cii": "cii", "facturx": "facturx", "zugferd": "facturx",
                              "xrechnung": "xrechnung", "pdf": "pdf"}
WRITABLE = ("approved", "exported")  # invoices with a number; drafts are never sent to a customer
FILE_SUFFIXES = {fmt: suffix for fmt, (suffix, _) in WRITERS.items()}  # the names files are written and downloaded by


@dataclass(frozen=True)
class EinvoiceFile:
    invoice_number: str
    path: Path


@dataclass(frozen=True)
class InvoiceFile:
    """One file of one invoice, in memory: what a download or an e-mail attachment carries."""

    invoice_number: str
    format: Format
    name: str
    media_type: str
    content: bytes


def format_of(fmt: str) -> Format:
    """The writer for a format name the user gave; ``ValidationFailed`` listing the choices otherwise."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return FORMATS[fmt]


def recipient_formats(customer: Customer) -> tuple[Format, ...]:
    """The files a customer's channel gets: XRechnung for a German public buyer (one with a Leitweg-ID), the Peppol
    UBL for a Peppol recipient, else the Factur-X PDF (readable and machine-readable in one file)."""
    if customer.leitweg_id:
        return ("xrechnung", "pdf")
    if customer.delivery_channel == "peppol":
        return ("ubl",)
    return ("facturx",)


def _document(uow: UnitOfWork, settings: Settings, invoice: Invoice, customer: Customer,
              batch: Batch) -> InvoiceDocument:
    if invoice.status not in WRITABLE:
        raise ValidationFailed(f"invoice {invoice.number or invoice.id}: status {invoice.status!r} is not approved "
                               "(only approved or exported invoices have e-invoice files)")
    config = settings.tenant(uow.exports.tenant(batch.tenant_id).code)
    return invoice_document(config, invoice, customer, batch, DEFAULT_REVENUE_ACCOUNT)


def invoice_files(settings: Settings, who: Actor, invoice_id: int,
                  formats: tuple[str, ...] | None = None) -> list[InvoiceFile]:
    """The files of one approved invoice, in the given formats or those its customer's channel gets
    (:func:`recipient_formats`), issued through the archive (a file issued before is returned as it was issued).
    ``NotFound`` when ``who`` may not see the invoice; ``ValidationFailed`` naming the invoice and field when it
    cannot be written."""
    chosen = [format_of(fmt) for fmt in formats] if formats else None
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        invoice = cast(Invoice, owned(uow.session.get(Invoice, invoice_id), tenants, "invoice", invoice_id))
        batch = uow.session.get(Batch, invoice.batch_id)
        customer = uow.session.get(Customer, invoice.customer_id)
        if batch is None or customer is None:
            raise ValidationFailed(f"invoice {invoice.number}: its batch or customer is missing")
        chosen = chosen or list(recipient_formats(customer))
        files = [InvoiceFile(invoice.number or str(invoice.id), fmt, name, MEDIA_TYPES[fmt], content)
                 for fmt, (name, content) in zip(chosen, _issued(uow, settings, who, invoice, customer, batch, chosen),
                                                 strict=True)]
        uow.audit.record(who.username, "einvoice.files", "invoice", invoice_id, invoice.tenant_id,
                         after={"formats": list(chosen)})
    return files


def _issued(uow: UnitOfWork, settings: Settings, who: Actor, invoice: Invoice, customer: Customer, batch: Batch,
            formats: Sequence[Format]) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of ``invoice`` in each format, from the archive; a format never issued is written from
    the invoice's document now and archived."""
    document = functools.cache(lambda: _document(uow, settings, invoice, customer, batch))
    if invoice.status not in WRITABLE:
        document()  # raises, naming the invoice
    issued = [issue_once(uow, who, invoice, fmt, lambda fmt=fmt: render(document(), fmt)) for fmt in formats]
    return [(f"{invoice.number}{FILE_SUFFIXES[fmt]}", bytes(found.content)) for fmt, found in zip(formats, issued,
                                                                                                  strict=True)]


def write_einvoices(settings: Settings, who: Actor, batch: int | str, fmt: str, out: Path,
                    tenant: str | None = None) -> list[EinvoiceFile]:
    """One file per approved (or exported) invoice of the batch (``batch`` is its id, or ``YYYY-MM`` with
    ``tenant``) into ``out``; ``fmt`` is one of :data:`FORMATS`. Each file is issued through the archive, so writing
    it again gives the same bytes. Raises ``ValidationFailed`` naming the invoice when one cannot be written."""
    writer = format_of(fmt)
    require(who, "finance", tenant)
    issued: list[tuple[str, str, bytes]] = []
    with UnitOfWork(engine_for(settings), write=True) as uow:
        found = find_batch(uow, who, batch, tenant)
        invoices = [i for i in uow.exports.invoices_of_batch(found.id) if i.status in WRITABLE]
        if not invoices:
            raise ValidationFailed(f"batch {batch!r}: has no approved invoices (status must be approved or exported)")
        customers = uow.exports.customers({i.customer_id for i in invoices})
        for invoice in invoices:
            [(name, content)] = _issued(uow, settings, who, invoice, customers[invoice.customer_id], found, [writer])
            issued.append((invoice.number or str(invoice.id), name, content))
        uow.audit.record(who.username, "einvoice.write", "batch", found.id, found.tenant_id,
                         after={"format": fmt, "files": len(issued), "directory": str(out)})
    out.mkdir(parents=True, exist_ok=True)  # written once the archive holds every file
    for _, name, content in issued:
        (out / name).write_bytes(content)
    return [EinvoiceFile(number, out / name) for number, name, _ in issued]
