"""Where each invoice of a batch stands in the outbox: the status view of the CLI and the web desk (read-only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from config import Settings
from ledger.models import Batch, Export, Invoice
from services.access import Actor, owned, readable_tenants, require
from services.errors import NotFound, ValidationFailed
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass(frozen=True)
class ExportStatusRow:
    """One invoice of a batch with its outbox state, for the web desk's status view."""

    invoice_id: int
    invoice_number: str | None
    customer_id: int
    gross: Decimal
    currency: str
    invoice_status: str
    export_id: int | None
    target: str | None
    external_ref: str | None
    status: str | None
    attempts: int
    last_error: str | None
    erp_document_id: str | None
    erp_number: str | None
    erp_status: str | None  # draft or posted in the ERP
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None


def export_status(settings: Settings, who: Actor, tenant: str, batch: int | str) -> list[ExportStatusRow]:
    """Every invoice of a batch (by id or ``YYYY-MM``) with its outbox rows, for the status view."""
    require(who, "finance", tenant)
    with UnitOfWork(engine_for(settings)) as uow:
        found = find_batch(uow, who, batch, tenant)
        return [_status_row(invoice, row) for invoice, row in uow.exports.for_batch(found.id)]


def find_batch(uow: UnitOfWork, who: Actor, batch: int | str, tenant: str | None) -> Batch:
    """A batch by id (``12`` or ``"12"``) or by ``YYYY-MM`` of ``tenant``; ``NotFound`` when it does not exist or
    belongs to a legal entity ``who`` may not see (or not to ``tenant`` when one is given)."""
    tenant_row = uow.tenants.by_code(tenant) if tenant else None
    if tenant and tenant_row is None:
        raise NotFound(f"tenant {tenant!r}: not found")
    if isinstance(batch, int) or batch.isdigit():
        found = uow.exports.batch(int(batch))
    elif tenant_row is None:
        raise ValidationFailed(f"batch {batch!r}: a month needs the tenant (or give the batch id)")
    else:
        found = uow.exports.batch_by_month(tenant_row.id, batch)
    owner = uow.exports.tenant(found.tenant_id) if found else None
    if found is None or owner is None or not who.can_see(owner.code) or (tenant_row and owner.id != tenant_row.id):
        raise NotFound(f"batch {batch}: not found" + (f" for tenant {tenant!r}" if tenant else ""))
    return found


def _status_row(invoice: Invoice, row: Export | None) -> ExportStatusRow:
    return ExportStatusRow(
        invoice_id=invoice.id, invoice_number=invoice.number, customer_id=invoice.customer_id, gross=invoice.gross,
        currency=invoice.currency, invoice_status=invoice.status, export_id=row.id if row else None,
        target=row.target if row else None, external_ref=row.external_ref if row else None,
        status=row.status if row else None, attempts=row.attempts if row else 0,
        last_error=row.last_error if row else None, erp_document_id=row.erp_document_id if row else None,
        erp_number=row.erp_number if row else None, erp_status=row.erp_status if row else None,
        next_attempt_at=row.next_attempt_at if row else None,
        sent_at=row.sent_at if row else None,
    )


@dataclass(frozen=True)
class ExportRow:
    id: int
    invoice_id: int
    target: str
    status: str
    attempts: int
    last_error: str | None
    erp_document_id: str | None
    next_attempt_at: dt.datetime | None
    updated_at: dt.datetime


def _export_row(e: Export) -> ExportRow:
    return ExportRow(e.id, e.invoice_id, e.target, e.status, e.attempts, e.last_error, e.erp_document_id,
                     e.next_attempt_at, e.updated_at)


def export_states(settings: Settings, who: Actor, invoice_ids: Sequence[int]) -> dict[int, ExportRow]:
    """The latest outbox row of each of these invoices (one page of a batch; ``export_status`` reads a whole batch)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        latest: dict[int, ExportRow] = {}
        stmt = select(Export).where(Export.invoice_id.in_(invoice_ids), Export.tenant_id.in_(tenants))
        for row in uow.session.scalars(stmt.order_by(Export.id)):
            latest[row.invoice_id] = _export_row(row)
        return latest


@dataclass(frozen=True)
class InvoicePlace:
    """Where an invoice sits (its batch) and every outbox row of it, for the invoice page."""

    batch_id: int
    month: str
    exports: list[ExportRow]


def invoice_place(settings: Settings, who: Actor, invoice_id: int) -> InvoicePlace:
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = readable_tenants(session, settings, who, "finance")
        invoice = owned(session.get(Invoice, invoice_id), tenants, "invoice", invoice_id)
        exports = session.scalars(select(Export).where(Export.invoice_id == invoice.id).order_by(Export.id))
        return InvoicePlace(invoice.batch_id, session.get(Batch, invoice.batch_id).month,
                            [_export_row(e) for e in exports])


def export_tenant(settings: Settings, who: Actor, export_id: int) -> tuple[str, int]:
    """The tenant code and invoice id of an export row the actor may see (for the retry button's redirect)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance")
        export = owned(uow.session.get(Export, export_id), tenants, "export", export_id)
        return tenants[export.tenant_id], export.invoice_id
