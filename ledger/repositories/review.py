"""What finance reviews of a batch, aggregated in the database: totals per customer, the month-on-month change per
customer or subscription, and the open discrepancies of the batch's subscriptions.

Why here and not in the service: a batch holds up to hundreds of thousands of invoices; the review page must answer
from ``GROUP BY`` and ``LIMIT`` without loading them. Amounts are summed exactly (``ledger.repositories.sums``) and
returned as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import BigInteger, case, cast, exists, func, literal, null, or_, select

from ledger.models import Customer, Discrepancy, Invoice, InvoiceLine, Subscription
from ledger.repositories.base import Repository
from ledger.repositories.sums import PLACES, amount, decimals, units

Per = Literal["customer", "subscription"]


@dataclass(frozen=True)
class CustomerTotal:
    customer_id: int
    name: str
    currency: str
    invoices: int
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Change:
    """A customer's or subscription's net in one currency in this batch (``now``) and the one before
    (``before``); ``None`` where it had no line."""

    id: int | None
    name: str
    currency: str
    now: Decimal | None
    before: Decimal | None


class ReviewRepository(Repository):
    def customer_totals(self, batch_id: int) -> list[CustomerTotal]:
        """Invoices, net, VAT and gross per customer and currency of the batch, by customer name."""
        sums = [(func.sum(units(self.session, column)), func.max(decimals(self.session, column)))
                for column in (Invoice.net, Invoice.vat, Invoice.gross)]
        rows = self.session.execute(
            select(Invoice.customer_id, Customer.name, Invoice.currency, func.count(),
                   *(part for pair in sums for part in pair))
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.batch_id == batch_id)
            .group_by(Invoice.customer_id, Customer.name, Invoice.currency)
            .order_by(Customer.name, Invoice.customer_id, Invoice.currency)
        ).tuples()
        what = f"invoices of batch {batch_id}"
        return [CustomerTotal(customer_id, name, currency, count, amount(net, net_places, what),
                              amount(vat, vat_places, what), amount(gross, gross_places, what))
                for customer_id, name, currency, count, net, net_places, vat, vat_places, gross, gross_places in rows]

    def changes(self, batch_id: int, previous_id: int | None, per: Per,
                limit: int | None = None) -> tuple[list[Change], int]:
        """The customers (or subscriptions) whose net per currency differs between the batch and ``previous_id``
        (new, gone or changed), and how many there are. With ``limit``: the largest changes first, at most
        ``limit`` of them; without: all of them, in no particular order."""
        key = InvoiceLine.customer_id if per == "customer" else InvoiceLine.subscription_id
        value = units(self.session, InvoiceLine.amount)
        places = func.max(decimals(self.session, InvoiceLine.amount))
        now = func.sum(case((Invoice.batch_id == batch_id, value)))
        before = (func.sum(case((Invoice.batch_id == previous_id, value))) if previous_id is not None
                  else cast(null(), BigInteger))
        grouped = (
            select(key.label("key"), InvoiceLine.currency.label("currency"), now.label("now"),
                   before.label("before"), places.label("places"))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.batch_id.in_([batch_id] if previous_id is None else [batch_id, previous_id]))
            .group_by(key, InvoiceLine.currency)
            .having(or_(now.is_distinct_from(before), places > PLACES))
            .subquery())
        if per == "customer":
            name = Customer.name
            query = select(grouped, name, func.count().over()).join(Customer, Customer.id == grouped.c.key)
        else:
            name = case((grouped.c.key.is_(None), literal("usage without subscription")),
                        else_=Subscription.product_name + " (" + Subscription.external_id + ")")
            query = (select(grouped, name, func.count().over())
                     .outerjoin(Subscription, Subscription.id == grouped.c.key))
        if limit is not None:
            delta = func.abs(func.coalesce(grouped.c.now, 0) - func.coalesce(grouped.c.before, 0))
            query = query.order_by(delta.desc(), name, grouped.c.key, grouped.c.currency).limit(limit)
        what = f"invoice lines of batch {batch_id}" + (f" or {previous_id}" if previous_id is not None else "")
        rows = self.session.execute(query).all()
        return [Change(ident, label, currency, amount(now_units, line_places, what),
                       amount(before_units, line_places, what))
                for ident, currency, now_units, before_units, line_places, label, _ in rows], rows[0][-1] if rows else 0

    def open_discrepancies(self, tenant_id: int, batch_id: int) -> Sequence[Discrepancy]:
        """Open discrepancies of the tenant's subscriptions that the batch bills."""
        billed = (select(InvoiceLine.id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                  .where(InvoiceLine.subscription_id == Discrepancy.subscription_id, Invoice.batch_id == batch_id))
        return self.session.scalars(
            select(Discrepancy)
            .where(Discrepancy.tenant_id == tenant_id, Discrepancy.status == "open", exists(billed))
            .order_by(Discrepancy.subscription_id, Discrepancy.day, Discrepancy.id)
        ).all()

