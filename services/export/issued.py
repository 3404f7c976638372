"""Issue a document of an invoice once: the first issue of (invoice, kind) is stored in the archive with its SHA-256
and every later request for that kind gets those bytes.

Why here, below delivery: the e-invoice files ``cspbill einvoice`` writes and the desk downloads leave the system as
much as an e-mail or a Peppol transmission does, so they go through the same archive (a document issued twice is
the same bytes with the same hash, whichever way it left). The archive's reads and checks stay in
``services.delivery.archive``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ledger.models import ArchivedDocument, Invoice
from services.access import Actor
from services.uow import UnitOfWork

# Archive kinds: the e-invoice formats of ``erp_export.einvoice`` ("pdf" is the visible page alone).
MEDIA_TYPES = {"pdf": "application/pdf", "facturx": "application/pdf", "ubl": "application/xml",
               "cii": "application/xml", "xrechnung": "application/xml"}
SUFFIXES = {"pdf": ".pdf", "facturx": ".facturx.pdf", "ubl": ".ubl.xml", "cii": ".cii.xml",
            "xrechnung": ".xrechnung.xml"}


def issue_once(uow: UnitOfWork, who: Actor, invoice: Invoice, kind: str, make: Callable[[], bytes]) -> ArchivedDocument:
    """The archived document of ``invoice`` and ``kind``: stored now from ``make()`` when it was never issued,
    else the one issued before (``make`` is not called)."""
    found = uow.archive.find(invoice.id, kind)
    if found is not None:
        return found
    content = make()
    document = uow.archive.add(ArchivedDocument(
        tenant_id=invoice.tenant_id, invoice_id=invoice.id, kind=kind, filename=f"{invoice.number}{SUFFIXES[kind]}",
        media_type=MEDIA_TYPES[kind], sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content))
    uow.audit.record(who.username, "archive.store", "invoice", invoice.number, invoice.tenant_id,
                     after={"document_id": document.id, "kind": kind, "sha256": document.sha256, "size": document.size})
    return document
