"""Everything the desk needs about one customer on one page: its subscriptions, mutations, open findings and, for
people who also do finance, its invoices and archived documents.

Why one read: a customer calls with "why did my invoice go up?", and the answer spans the mutation the desk entered,
the vendor's count (a finding when they disagree) and the invoice. Invoices and documents are finance's (the
archive already says so); a desk-only person sees the rest and a note that those need the finance role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select

from config import Settings
from ledger.models import ArchivedDocument, Batch, Discrepancy, Invoice, Mutation, Subscription
from services.access import Actor, require
from services.desk.master_data import CustomerDetail, detail_of, owned_customer
from services.desk.mutations import MutationView, view
from services.runtime import engine_for
from services.uow import UnitOfWork

SHOWN = 50  # newest rows per section; the section says how many there are in all


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str | None
    invoice_key: str
    month: str
    status: str
    currency: str
    net: Decimal
    gross: Decimal


@dataclass(frozen=True)
class FindingRow:
    id: int
    kind: str
    day: dt.date | None
    sentence: str
    subscription_id: int | None


@dataclass(frozen=True)
class DocumentRow:
    id: int
    invoice_id: int
    invoice_number: str
    kind: str
    filename: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CustomerOverview:
    detail: CustomerDetail
    mutations: list[MutationView]
    findings: list[FindingRow]
    open_findings: int
    finance: bool  # whether ``who`` may read invoices and documents of this legal entity
    invoices: list[InvoiceRow]
    documents: list[DocumentRow]


def customer_overview(settings: Settings, who: Actor, customer_id: int) -> CustomerOverview:
    """The customer's mutations (newest first), open findings and, with the finance role, invoices and documents."""
    require(who, "desk")
    with UnitOfWork(engine_for(settings)) as uow:
        customer, tenant = owned_customer(uow, who, customer_id)
        session = uow.session
        mutations = session.scalars(select(Mutation).where(Mutation.customer_id == customer.id)
                                    .order_by(Mutation.effective_date.desc(), Mutation.id.desc()).limit(SHOWN)).all()
        subscriptions = select(Subscription.id).where(Subscription.customer_id == customer.id)
        mine = (Discrepancy.status == "open") & or_(Discrepancy.customer_id == customer.id,
                                                    Discrepancy.subscription_id.in_(subscriptions))
        findings = session.scalars(select(Discrepancy).where(mine)
                                   .order_by(Discrepancy.day.desc(), Discrepancy.id.desc()).limit(SHOWN)).all()
        finance = who.has_role("finance")
        invoices: list[InvoiceRow] = []
        documents: list[DocumentRow] = []
        if finance:
            rows = session.execute(
                select(Invoice, Batch.month).join(Batch, Batch.id == Invoice.batch_id)
                .where(Invoice.customer_id == customer.id)
                .order_by(Batch.month.desc(), Invoice.id.desc()).limit(SHOWN)).all()
            invoices = [InvoiceRow(i.id, i.number, i.invoice_key, month, i.status, i.currency, i.net, i.gross)
                        for i, month in rows]
            documents = [DocumentRow(d.id, i.id, i.number or i.invoice_key, d.kind, d.filename, d.created_at)
                         for d, i in session.execute(
                             select(ArchivedDocument, Invoice).join(Invoice, Invoice.id == ArchivedDocument.invoice_id)
                             .where(Invoice.customer_id == customer.id)
                             .order_by(ArchivedDocument.id.desc()).limit(SHOWN)).all()]
        return CustomerOverview(
            detail_of(customer, tenant.code),
            [view(uow, m, tenant.code) for m in mutations],
            [FindingRow(d.id, d.kind, d.day, d.sentence, d.subscription_id) for d in findings],
            session.scalar(select(func.count()).select_from(Discrepancy).where(mine)) or 0,
            finance, invoices, documents,
        )
