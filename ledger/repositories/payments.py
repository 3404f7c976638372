"""Statements, entries, payment applications and payer hints: what cash application reads and writes.

An invoice's open amount is computed here, in one query, from its gross and the applications in force (amount plus
the bank charges written off when it was settled), so no stored balance can disagree with the applications.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Row, select

from ledger.models import BankEntry, BankStatement, Customer, Invoice, PayerHint, PaymentApplication
from ledger.repositories.base import Repository

BILLED = ("approved", "exported")  # numbered invoices a customer owes


@dataclass(frozen=True)
class OpenRow:
    id: int
    number: str
    customer_id: int
    customer: str
    currency: str
    issue_date: dt.date | None
    gross: Decimal
    paid: Decimal
    terms_days: int | None  # the customer's own payment terms


class PaymentRepository(Repository):
    def statement_by_hash(self, sha256: str) -> BankStatement | None:
        return self.session.scalars(select(BankStatement).where(BankStatement.sha256 == sha256)).first()

    def existing_entry_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        return set(self.session.scalars(select(BankEntry.entry_key).where(BankEntry.entry_key.in_(keys))))

    def entry(self, entry_id: int, lock: bool = False) -> BankEntry | None:
        query = select(BankEntry).where(BankEntry.id == entry_id)
        return self.session.scalars(query.with_for_update() if lock else query).first()

    def entries(self, tenant_ids: Sequence[int], status: str | None = None, month: str | None = None,
                limit: int = 200, newest_first: bool = False) -> Sequence[BankEntry]:
        query = select(BankEntry).where(BankEntry.tenant_id.in_(tenant_ids))
        if status:
            query = query.where(BankEntry.status == status)
        if month:
            first = dt.date.fromisoformat(f"{month}-01")
            following = (first + dt.timedelta(days=32)).replace(day=1)
            query = query.where(BankEntry.booking_date >= first, BankEntry.booking_date < following)
        order = (BankEntry.booking_date.desc(), BankEntry.id.desc()) if newest_first else (BankEntry.booking_date,
                                                                                            BankEntry.id)
        return self.session.scalars(query.order_by(*order).limit(limit)).all()

    def applications(self, entry_id: int, in_force: bool = True) -> Sequence[PaymentApplication]:
        query = select(PaymentApplication).where(PaymentApplication.entry_id == entry_id)
        if in_force:
            query = query.where(PaymentApplication.unapplied_at.is_(None))
        return self.session.scalars(query.order_by(PaymentApplication.id)).all()

    def open_items(self, tenant_id: int, customer_id: int | None = None) -> list[OpenRow]:
        """Numbered invoices with something still open, oldest first. The sums are taken here in ``Decimal``: the
        money columns are exact decimal strings, which SQL arithmetic would turn into floats."""
        query = (select(Invoice.id, Invoice.number, Invoice.customer_id, Customer.name.label("customer"),
                        Invoice.currency, Invoice.issue_date, Invoice.gross, Customer.payment_terms_days)
                 .join(Customer, Customer.id == Invoice.customer_id)
                 .where(Invoice.tenant_id == tenant_id, Invoice.number.is_not(None), Invoice.status.in_(BILLED)))
        if customer_id is not None:
            query = query.where(Invoice.customer_id == customer_id)
        paid = self._paid(PaymentApplication.tenant_id == tenant_id)
        rows = [OpenRow(r.id, r.number, r.customer_id, r.customer, r.currency, r.issue_date, r.gross,
                        paid.get(r.id, Decimal(0)), r.payment_terms_days)
                for r in self.session.execute(query.order_by(Invoice.issue_date, Invoice.number))]
        return [row for row in rows if row.gross != row.paid]

    def still_open(self, invoice_ids: Sequence[int]) -> dict[int, Decimal]:
        """What is open of these invoices now (gross less the applications in force), read after locking them
        (``SELECT ... FOR UPDATE``, in id order): an application to one of them waits for another in progress, then
        sees it. PostgreSQL does not serialise write transactions as SQLite's ``BEGIN IMMEDIATE`` does, so two bank
        entries applied at once to one invoice both found it open, and paid it twice."""
        ids = sorted(set(invoice_ids))
        gross = dict(self.session.execute(select(Invoice.id, Invoice.gross).where(Invoice.id.in_(ids))
                                          .order_by(Invoice.id).with_for_update()).tuples().all())
        paid = self._paid(PaymentApplication.invoice_id.in_(ids))
        return {invoice_id: amount - paid.get(invoice_id, Decimal(0)) for invoice_id, amount in gross.items()}

    def _paid(self, *where: ColumnElement[bool]) -> dict[int, Decimal]:
        """What the applications in force (amount plus the bank charges written off) pay per invoice, summed here
        in ``Decimal``: the money columns are exact decimal strings, which SQL arithmetic would turn into floats."""
        paid: dict[int, Decimal] = defaultdict(Decimal)
        for row in self.session.execute(
                select(PaymentApplication.invoice_id, PaymentApplication.amount, PaymentApplication.charges)
                .where(PaymentApplication.unapplied_at.is_(None), *where)):
            paid[row.invoice_id] += row.amount + row.charges
        return paid

    def customers(self, tenant_id: int) -> dict[int, str]:
        rows = self.session.execute(select(Customer.id, Customer.name).where(Customer.tenant_id == tenant_id))
        return {row.id: row.name for row in rows}

    def hints(self, tenant_id: int) -> Sequence[PayerHint]:
        return self.session.scalars(select(PayerHint).where(PayerHint.tenant_id == tenant_id)).all()

    def hint(self, tenant_id: int, kind: str, value: str) -> PayerHint | None:
        return self.session.scalars(select(PayerHint).where(
            PayerHint.tenant_id == tenant_id, PayerHint.kind == kind, PayerHint.value == value)).first()

    def invoice_by_number(self, tenant_id: int, number: str) -> Invoice | None:
        return self.session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id,
                                                          Invoice.number == number)).first()

    def paid_days(self, tenant_ids: Sequence[int]) -> Sequence[Row]:
        """Per application in force: tenant, the invoice's issue day and the paying entry's booking day."""
        return self.session.execute(
            select(PaymentApplication.tenant_id, Invoice.issue_date, BankEntry.booking_date)
            .join(Invoice, Invoice.id == PaymentApplication.invoice_id)
            .join(BankEntry, BankEntry.id == PaymentApplication.entry_id)
            .where(PaymentApplication.tenant_id.in_(tenant_ids), PaymentApplication.unapplied_at.is_(None),
                   Invoice.issue_date.is_not(None), PaymentApplication.amount > 0)
            .order_by(BankEntry.booking_date)).all()

    def credit_entries(self, tenant_ids: Sequence[int]) -> Sequence[Row]:
        """Every credit entry's tenant, booking day, status and who decided it (the straight-through rate)."""
        return self.session.execute(
            select(BankEntry.tenant_id, BankEntry.booking_date, BankEntry.status, BankEntry.decided_by)
            .where(BankEntry.tenant_id.in_(tenant_ids), BankEntry.amount > 0)
            .order_by(BankEntry.booking_date)).all()
