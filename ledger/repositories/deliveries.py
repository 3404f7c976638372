"""The delivery outbox and the document archive: rows claimed before every send, documents stored once.

Why a compare-and-set claim, as in the export outbox: the move to ``sending`` is committed before a channel is
called, and only the run that made it may act on the row, so the scheduler and a person never both send one invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ledger.models import ArchivedDocument, Batch, Customer, Delivery, Invoice, Tenant
from ledger.repositories.base import Repository, claim_row

DUE = ("queued", "submitted", "sending")


class DeliveryRepository(Repository):
    def get(self, delivery_id: int) -> Delivery | None:
        return self.session.get(Delivery, delivery_id)

    def add(self, invoice: Invoice, channel: str, recipient: str, message_ref: str, now: dt.datetime) -> Delivery:
        row = Delivery(invoice_id=invoice.id, tenant_id=invoice.tenant_id, channel=channel, recipient=recipient,
                       message_ref=message_ref, status="queued", attempts=0, created_at=now, updated_at=now,
                       next_attempt_at=now)
        self.session.add(row)
        self.session.flush()
        return row

    def lock_tenant(self, tenant_id: int) -> None:
        """Serialise queueing per tenant until commit: PostgreSQL row lock (SQLite's write transaction already is)."""
        self.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    def queued_invoice_ids(self, tenant_id: int) -> set[int]:
        return set(self.session.scalars(select(Delivery.invoice_id).where(Delivery.tenant_id == tenant_id)))

    def deliverable(self, tenant_id: int, statuses: Sequence[str]) -> Sequence[tuple[Invoice, Customer]]:
        """Numbered invoices in ``statuses`` of customers whose channel is e-mail or Peppol, oldest first."""
        query = (select(Invoice, Customer).join(Customer, Customer.id == Invoice.customer_id)
                 .where(Invoice.tenant_id == tenant_id, Invoice.status.in_(statuses), Invoice.number.is_not(None),
                        Customer.delivery_channel.in_(("email", "peppol")))
                 .order_by(Invoice.id))
        return [(invoice, customer) for invoice, customer in self.session.execute(query)]

    def due(self, tenant_id: int, now: dt.datetime) -> Sequence[Delivery]:
        """Queued or submitted rows whose backoff has passed, and ``sending`` ones (orphaned or not: the caller
        decides)."""
        ready = or_(Delivery.status == "sending", Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
        return self.session.scalars(select(Delivery).where(Delivery.tenant_id == tenant_id,
                                                           Delivery.status.in_(DUE), ready)
                                    .order_by(Delivery.id)).all()

    def claim(self, delivery_id: int, expected_status: str, expected_claim: str | None, runner: str,
              now: dt.datetime) -> bool:
        """Move a row to ``sending`` for ``runner`` if nobody changed it since it was read (compare-and-set)."""
        return claim_row(self.session, Delivery, delivery_id, expected_status, expected_claim, runner, now)

    def invoice(self, invoice_id: int) -> Invoice | None:
        return self.session.scalar(select(Invoice).where(Invoice.id == invoice_id)
                                   .options(selectinload(Invoice.lines)))

    def batch(self, batch_id: int) -> Batch | None:
        return self.session.get(Batch, batch_id)

    def tenant(self, tenant_id: int) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def listing(self, tenant_ids: Sequence[int], status: str | None = None, month: str | None = None,
                limit: int = 500) -> Sequence[tuple[Delivery, Invoice, Customer, str]]:
        """Deliveries with their invoice, customer and tenant code, newest first."""
        query = (select(Delivery, Invoice, Customer, Tenant.code).join(Invoice, Invoice.id == Delivery.invoice_id)
                 .join(Customer, Customer.id == Invoice.customer_id).join(Tenant, Tenant.id == Delivery.tenant_id)
                 .where(Delivery.tenant_id.in_(tenant_ids)).order_by(Delivery.id.desc()).limit(limit))
        if status:
            query = query.where(Delivery.status == status)
        if month:
            query = query.join(Batch, Batch.id == Invoice.batch_id).where(Batch.month == month)
        return [(d, i, c, code) for d, i, c, code in self.session.execute(query)]


class ArchiveRepository(Repository):
    def find(self, invoice_id: int, kind: str) -> ArchivedDocument | None:
        return self.session.scalar(select(ArchivedDocument).where(ArchivedDocument.invoice_id == invoice_id,
                                                                  ArchivedDocument.kind == kind))

    def add(self, document: ArchivedDocument) -> ArchivedDocument:
        self.session.add(document)
        self.session.flush()
        return document

    def search(self, tenant_ids: Sequence[int], *, customer: str | None = None, number: str | None = None,
               month: str | None = None, document_id: int | None = None, limit: int | None = 500
               ) -> Sequence[tuple[ArchivedDocument, Invoice, Customer, str, str]]:
        """Archived documents of ``tenant_ids`` with their invoice, customer, tenant code and month, oldest first."""
        query = (select(ArchivedDocument, Invoice, Customer, Tenant.code, Batch.month)
                 .join(Invoice, Invoice.id == ArchivedDocument.invoice_id)
                 .join(Customer, Customer.id == Invoice.customer_id)
                 .join(Tenant, Tenant.id == ArchivedDocument.tenant_id)
                 .join(Batch, Batch.id == Invoice.batch_id)
                 .where(ArchivedDocument.tenant_id.in_(tenant_ids))
                 .order_by(ArchivedDocument.id).limit(limit))
        if document_id is not None:
            query = query.where(ArchivedDocument.id == document_id)
        if customer:
            query = query.where(Customer.name.ilike(f"%{customer}%"))
        if number:
            query = query.where(Invoice.number == number)
        if month:
            query = query.where(Batch.month == month)
        return [(document, invoice, owner, code, month)
                for document, invoice, owner, code, month in self.session.execute(query)]
