"""The archive of issued documents: every file a customer was sent is stored once, immutably, with its SHA-256.

Why in the ledger (a ``LargeBinary`` column) rather than a content-addressed directory under ``var/``: the document,
its hash and the audit event that records it commit in one transaction (no file without a row, no row without its
file), the database's append-only triggers refuse any UPDATE or DELETE as they do for the audit trail, and a backup
or a PostgreSQL replica of the ledger carries the archive with it. Invoices are tens of kilobytes; a year of a
reseller's documents stays far below what either database handles comfortably.

Stored once: the first issue of (invoice, kind) is kept and every later send, re-send included, uses those bytes,
so what a customer received twice is byte for byte the same document. Storing is ``services.export.issued``'s
``issue_once``, shared with the e-invoice files ``cspbill einvoice`` writes and the desk downloads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from config import Settings
from ledger.models import ArchivedDocument, Invoice
from services.access import Actor, readable_tenants
from services.errors import NotFound
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass(frozen=True)
class ArchiveEntry:
    id: int
    tenant: str
    invoice_number: str
    customer: str
    month: str
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: str


@dataclass(frozen=True)
class ArchiveFile:
    entry: ArchiveEntry
    content: bytes


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    mismatch: ArchiveEntry | None  # the first document whose bytes no longer match its hash


def list_documents(settings: Settings, who: Actor, *, tenant: str | None = None, customer: str | None = None,
                   number: str | None = None, month: str | None = None) -> list[ArchiveEntry]:
    """Archived documents ``who`` may read (finance), filtered by customer name (part of it), number and month."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        return [_entry(*row) for row in uow.archive.search(list(tenants), customer=customer, number=number,
                                                             month=month)]


def get_document(settings: Settings, who: Actor, document_id: int) -> ArchiveFile:
    """One archived document with its bytes (``NotFound`` for another legal entity's, as for a missing one)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        rows = [row for row in uow.archive.search(list(tenants), document_id=document_id)]
        if not rows:
            raise NotFound(f"archived document {document_id}: not found")
        document = rows[0][0]
        return ArchiveFile(_entry(*rows[0]), bytes(document.content))


def verify_archive(settings: Settings, who: Actor, tenant: str | None = None) -> VerifyResult:
    """Re-hash every archived document ``who`` may read; stops at the first whose bytes differ from its hash."""
    checked = 0
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        for row in uow.archive.search(list(tenants), limit=None):
            document = row[0]
            checked += 1
            content = bytes(document.content)
            if hashlib.sha256(content).hexdigest() != document.sha256 or len(content) != document.size:
                return VerifyResult(checked, _entry(*row))
            uow.session.expunge(document)  # keep memory flat over a large archive
    return VerifyResult(checked, None)


def _entry(document: ArchivedDocument, invoice: Invoice, customer: object, tenant: str, month: str) -> ArchiveEntry:
    return ArchiveEntry(document.id, tenant, invoice.number or str(invoice.id), getattr(customer, "name", ""), month,
                        document.kind, document.filename, document.media_type, document.size, document.sha256,
                        document.created_at.isoformat(timespec="seconds"))
