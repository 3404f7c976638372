"""The files an invoice is delivered as, issued through the archive: the same ``InvoiceDocument`` the ERP export
and the e-invoice writer use, written by ``erp_export``'s UBL / Factur-X writers, stored once.

Why through the archive: a re-send (after a bounce, or on a person's request) must send exactly what was issued,
and the archive returns the first issue of every file instead of writing it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from config.schema import Tenant as TenantConfig
from delivery_channels.base import Attachment
from erp_export.documents import InvoiceDocument
from erp_export.einvoice import facturx_pdf, ubl_xml
from erp_export.invoice_page import invoice_page
from ledger.models import Invoice
from services.access import Actor
from services.errors import ValidationFailed
from services.export.documents import invoice_customer, invoice_document
from services.export.issued import issue_once
from services.export.targets import DEFAULT_REVENUE_ACCOUNT
from services.uow import UnitOfWork

# What each channel (and e-mail format) carries: archive kinds in attachment order.
KINDS = {("email", "ubl"): ("pdf", "ubl"), ("email", "facturx"): ("facturx",), ("peppol", None): ("ubl",)}
WRITERS: dict[str, Callable[[InvoiceDocument], bytes]] = {"pdf": invoice_page, "ubl": ubl_xml, "facturx": facturx_pdf}


def delivery_files(uow: UnitOfWork, who: Actor, config: TenantConfig, invoice: Invoice, channel: str
                   ) -> tuple[Attachment, ...]:
    """The attachments of ``invoice`` for ``channel``, issued now or taken from the archive. Raises
    ``ValidationFailed`` naming the invoice when no valid document can be made."""
    fmt = (config.delivery.email_format if config.delivery else "ubl") if channel == "email" else None
    kinds = KINDS[(channel, fmt)]
    batch = uow.deliveries.batch(invoice.batch_id)
    if batch is None:
        raise ValidationFailed(f"invoice {invoice.number}: its batch {invoice.batch_id} does not exist")

    @functools.cache
    def document() -> InvoiceDocument:  # made only when a file is issued for the first time
        return invoice_document(config, invoice, invoice_customer(uow, invoice), batch, DEFAULT_REVENUE_ACCOUNT)

    files = [issue_once(uow, who, invoice, kind, lambda write=WRITERS[kind]: write(document())) for kind in kinds]
    return tuple(Attachment(f.filename, f.media_type, bytes(f.content)) for f in files)
