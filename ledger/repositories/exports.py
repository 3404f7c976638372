"""The export outbox: one row per (ERP target, invoice), claimed before every ERP call.

Why a compare-and-set claim: the row's move to ``sending`` is committed before the ERP is called, and only the run
that made that move may act on it. A second run (scheduler and CLI at once) finds the claim taken and leaves the row
alone, so two processes never both search-then-create the same document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ledger.models import Batch, Customer, ErpDuplicate, Export, Invoice, Tenant
from ledger.repositories.base import Repository, claim_row


class ExportRepository(Repository):
    def get(self, export_id: int) -> Export | None:
        return self.session.get(Export, export_id)

    def add(self, invoice: Invoice, target: str, external_ref: str, now: dt.datetime) -> Export:
        row = Export(invoice_id=invoice.id, tenant_id=invoice.tenant_id, target=target, external_ref=external_ref,
                     status="queued", attempts=0, created_at=now, updated_at=now, next_attempt_at=now)
        self.session.add(row)
        self.session.flush()
        return row

    def lock_tenant(self, tenant_id: int) -> None:
        """Serialise queueing per tenant until commit: PostgreSQL row lock (SQLite's write transaction already is)."""
        self.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    def for_target(self, tenant_id: int, target: str, invoice_ids: Collection[int] | None = None) -> dict[int, Export]:
        """This tenant's outbox rows for ``target``, by invoice id (only those of ``invoice_ids`` when given)."""
        query = select(Export).where(Export.tenant_id == tenant_id, Export.target == target)
        if invoice_ids is not None:
            query = query.where(Export.invoice_id.in_(invoice_ids))
        return {row.invoice_id: row for row in self.session.scalars(query)}

    def approved_invoices(self, tenant_id: int, batch_id: int | None = None,
                          invoice_ids: Collection[int] | None = None) -> Sequence[Invoice]:
        """Approved (not yet exported) invoices with a number, oldest first, lines loaded (of ``batch_id`` and among
        ``invoice_ids`` when given)."""
        query = (select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.status == "approved",
                                       Invoice.number.is_not(None))
                 .options(selectinload(Invoice.lines)).order_by(Invoice.id))
        if batch_id is not None:
            query = query.where(Invoice.batch_id == batch_id)
        if invoice_ids is not None:
            query = query.where(Invoice.id.in_(invoice_ids))
        return self.session.scalars(query).all()

    def invoices_of_batch(self, batch_id: int) -> Sequence[Invoice]:
        return self.session.scalars(select(Invoice).where(Invoice.batch_id == batch_id)
                                    .options(selectinload(Invoice.lines)).order_by(Invoice.id)).all()

    def invoice(self, invoice_id: int) -> Invoice | None:
        return self.session.scalar(select(Invoice).where(Invoice.id == invoice_id)
                                   .options(selectinload(Invoice.lines)))

    def customers(self, ids: set[int]) -> dict[int, Customer]:
        if not ids:
            return {}
        return {c.id: c for c in self.session.scalars(select(Customer).where(Customer.id.in_(ids)))}

    def batch(self, batch_id: int) -> Batch | None:
        return self.session.get(Batch, batch_id)

    def batch_by_month(self, tenant_id: int, month: str) -> Batch | None:
        return self.session.scalar(select(Batch).where(Batch.tenant_id == tenant_id, Batch.month == month))

    def tenant(self, tenant_id: int) -> Tenant | None:
        return self.session.get(Tenant, tenant_id)

    def due(self, tenant_id: int, target: str, now: dt.datetime, *, include_failed: bool) -> Sequence[Export]:
        """Rows a run should work on: queued and uncertain ones whose backoff has passed, unclaimed or orphaned
        ``sending`` ones (decided by the caller), and with ``include_failed`` the failed ones too."""
        statuses = ["queued", "uncertain", "sending"] + (["failed"] if include_failed else [])
        ready = or_(Export.status.not_in(("queued", "uncertain")), Export.next_attempt_at.is_(None),
                    Export.next_attempt_at <= now)
        query = (select(Export).where(Export.tenant_id == tenant_id, Export.target == target,
                                      Export.status.in_(statuses), ready)
                 .order_by(Export.id))
        return self.session.scalars(query).all()

    def due_anywhere(self, now: dt.datetime) -> Sequence[tuple[int, str]]:
        """(tenant id, target) pairs with queued or uncertain rows whose backoff has passed or rows left in
        ``sending``, for the scheduler's retry job (which ``sending`` claims are orphaned is the caller's decision)."""
        ready = or_(Export.status == "sending", Export.next_attempt_at.is_(None), Export.next_attempt_at <= now)
        query = (select(Export.tenant_id, Export.target)
                 .where(Export.status.in_(("queued", "uncertain", "sending")), ready)
                 .distinct().order_by(Export.tenant_id, Export.target))
        return [(tenant_id, target) for tenant_id, target in self.session.execute(query)]

    def claim(self, export_id: int, expected_status: str, expected_claim: str | None, runner: str,
              now: dt.datetime) -> bool:
        """Move a row to ``sending`` for ``runner`` if nobody changed it since it was read (compare-and-set)."""
        return claim_row(self.session, Export, export_id, expected_status, expected_claim, runner, now)

    def for_batch(self, batch_id: int) -> Sequence[tuple[Invoice, Export | None]]:
        """Every invoice of a batch with its outbox rows (None when never queued), for the status view."""
        query = (select(Invoice, Export).outerjoin(Export, Export.invoice_id == Invoice.id)
                 .where(Invoice.batch_id == batch_id).order_by(Invoice.id, Export.id))
        return [(invoice, export) for invoice, export in self.session.execute(query)]

    def latest_of(self, invoice_ids: Collection[int]) -> dict[int, Export]:
        """Each of these invoices' latest outbox row (the highest id), for one page of a batch's invoices."""
        if not invoice_ids:
            return {}
        query = select(Export).where(Export.invoice_id.in_(invoice_ids)).order_by(Export.id)
        return {row.invoice_id: row for row in self.session.scalars(query)}

    def status_counts(self, batch_id: int) -> dict[str, int]:
        """How many of the batch's invoices stand at each outbox status (their latest row's), counted by the
        database: a batch of 300,000 invoices is not loaded to show its progress line. Never queued: not counted."""
        latest = (select(func.max(Export.id).label("id")).join(Invoice, Invoice.id == Export.invoice_id)
                  .where(Invoice.batch_id == batch_id).group_by(Export.invoice_id).subquery())
        query = select(Export.status, func.count()).join(latest, latest.c.id == Export.id).group_by(Export.status)
        return {status: count for status, count in self.session.execute(query)}

    def sent_since(self, tenant_id: int, target: str, since: dt.datetime) -> Sequence[tuple[Export, Invoice]]:
        """Rows sent to ``target`` at or after ``since`` with their invoices (the duplicate sweep's window)."""
        query = (select(Export, Invoice).join(Invoice, Invoice.id == Export.invoice_id)
                 .where(Export.tenant_id == tenant_id, Export.target == target, Export.status == "sent",
                        Export.sent_at >= since).order_by(Export.id))
        return [(row, invoice) for row, invoice in self.session.execute(query)]

    def duplicate(self, target: str, external_ref: str) -> ErpDuplicate | None:
        return self.session.scalar(select(ErpDuplicate).where(ErpDuplicate.target == target,
                                                              ErpDuplicate.external_ref == external_ref))

    def duplicates(self, tenant_ids: Sequence[int], seen_since: dt.datetime) -> Sequence[ErpDuplicate]:
        """Open findings of these tenants, and resolved ones seen since ``seen_since``, newest first."""
        query = (select(ErpDuplicate).where(ErpDuplicate.tenant_id.in_(tenant_ids),
                                            or_(ErpDuplicate.status == "open", ErpDuplicate.last_seen_at >= seen_since))
                 .order_by(ErpDuplicate.last_seen_at.desc(), ErpDuplicate.id.desc()))
        return self.session.scalars(query).all()
