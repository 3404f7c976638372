"""What finance reviews of a batch, aggregated in the database: totals per customer, the month-on-month change per
customer or subscription, and the open discrepancies of the batch's subscriptions.

Why here and not in the service: a batch holds up to hundreds of thousands of invoices; the review page must answer
from ``GROUP BY`` and ``LIMIT`` without loading them. Amounts are summed exactly (``ledger.repositories.sums``) and
returned as ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BigInteger,
    Select,
    Subquery,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
)

from ledger.models import BatchChange, BatchCheck, Customer, Discrepancy, Invoice, InvoiceLine, Subscription
from ledger.repositories.base import Repository, chunks
from ledger.repositories.sums import PLACES, amount, decimals, units
from ledger.shards import Shard

Per = Literal["customer", "subscription"]
PERS: tuple[Per, ...] = ("customer", "subscription")


@dataclass(frozen=True)
class CustomerTotal:
    customer_id: int
    name: str
    currency: str
    invoices: int
    net: Decimal
    vat: Decimal
    gross: Decimal


class ChangeRow(NamedTuple):
    """A stored change: the customer's or subscription's (``per``, ``key``) net in ``currency`` in the batch and the
    one before, in 10^-4 units (``None``: no line)."""

    per: Per
    key: int | None
    currency: str
    now: int | None
    before: int | None

    @property
    def delta(self) -> int:
        return delta_units(self.now, self.before)


def delta_units(now: int | None, before: int | None) -> int:
    """How far a net moved between the months, in 10^-4 units (a side without lines counts as 0): what the largest
    changes are ranked by."""
    return abs((now or 0) - (before or 0))


@dataclass(frozen=True)
class Change:
    """A customer's or subscription's net in one currency in this batch (``now``) and the one before
    (``before``); ``None`` where it had no line."""

    id: int | None
    name: str
    currency: str
    now: Decimal | None
    before: Decimal | None


def _lines_of(batch_id: int, previous_id: int | None) -> str:
    """The summed lines, as an inexact amount's error names them."""
    return f"invoice lines of batch {batch_id}" + (f" or {previous_id}" if previous_id is not None else "")


def _batches(batch_id: int, previous_id: int | None) -> list[int]:
    return [batch_id] if previous_id is None else [batch_id, previous_id]


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

    def _grouped(self, batch_id: int, previous_id: int | None, per: Per) -> Subquery:
        """Net per key (customer or subscription) and currency in the batch (``now``) and ``previous_id``
        (``before``), in 10^-4 units, where they differ (or an amount is inexact, so ``amount`` refuses it)."""
        key = InvoiceLine.customer_id if per == "customer" else InvoiceLine.subscription_id
        value = units(self.session, InvoiceLine.amount)
        places = func.max(decimals(self.session, InvoiceLine.amount))
        now = func.sum(case((Invoice.batch_id == batch_id, value)))
        before = (func.sum(case((Invoice.batch_id == previous_id, value))) if previous_id is not None
                  else cast(null(), BigInteger))
        return (
            select(key.label("key"), InvoiceLine.currency.label("currency"), now.label("now"),
                   before.label("before"), places.label("places"))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.batch_id.in_(_batches(batch_id, previous_id)))
            .group_by(key, InvoiceLine.currency)
            .having(or_(now.is_distinct_from(before), places > PLACES))
            .subquery())

    @staticmethod
    def _named(rows: Any, per: Per) -> tuple[Select[Any], Any]:
        """``rows`` (with ``key``, ``currency``, ``now``, ``before``) with the customer's or subscription's name
        and the count of all rows; and the name column."""
        if per == "customer":
            return (select(rows, Customer.name, func.count().over()).join(Customer, Customer.id == rows.c.key),
                    Customer.name)
        name = case((rows.c.key.is_(None), literal("usage without subscription")),
                    else_=Subscription.product_name + " (" + Subscription.external_id + ")")
        return select(rows, name, func.count().over()).outerjoin(Subscription, Subscription.id == rows.c.key), name

    @staticmethod
    def _largest_first(query: Select[Any], rows: Any, name: Any) -> Select[Any]:
        delta = func.abs(func.coalesce(rows.c.now, 0) - func.coalesce(rows.c.before, 0))
        return query.order_by(delta.desc(), name, rows.c.key, rows.c.currency)

    def changes(self, batch_id: int, previous_id: int | None, per: Per,
                limit: int | None = None) -> tuple[list[Change], int]:
        """The customers (or subscriptions) whose net per currency differs between the batch and ``previous_id``
        (new, gone or changed), and how many there are. With ``limit``: the largest changes first, at most
        ``limit`` of them; without: all of them, in no particular order."""
        grouped = self._grouped(batch_id, previous_id, per)
        query, name = self._named(grouped, per)
        if limit is not None:
            query = self._largest_first(query, grouped, name).limit(limit)
        what = _lines_of(batch_id, previous_id)
        rows = self.session.execute(query).all()
        return [Change(ident, label, currency, amount(now_units, line_places, what),
                       amount(before_units, line_places, what))
                for ident, currency, now_units, before_units, line_places, label, _ in rows], rows[0][-1] if rows else 0

    def store_changes(self, batch_id: int, previous_id: int | None, keep: int) -> dict[Per, int]:
        """Work out the batch's changes against ``previous_id`` (as ``changes``) per customer and per subscription,
        store the ``keep`` largest of each view (ties at the cut included, so any cut up to ``keep`` reads the rows
        ``changes`` gives) in place of what was stored, and return how many there are per view. One exactness
        check over both batches' lines (an inexact amount is refused, as the page refuses it), then one query per
        view that ranks in the database: only the kept rows reach Python."""
        places = self.session.scalar(select(func.max(decimals(self.session, InvoiceLine.amount)))
                                     .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                                     .where(Invoice.batch_id.in_(_batches(batch_id, previous_id))))
        amount(0, places, _lines_of(batch_id, previous_id))
        kept: list[ChangeRow] = []
        counts: dict[Per, int] = {}
        for per in PERS:
            grouped = self._grouped(batch_id, previous_id, per)
            delta = func.abs(func.coalesce(grouped.c.now, 0) - func.coalesce(grouped.c.before, 0))
            ranked = select(grouped.c.key, grouped.c.currency, grouped.c.now, grouped.c.before,
                            func.rank().over(order_by=delta.desc()).label("place"),
                            func.count().over().label("total")).subquery()
            rows = self.session.execute(select(ranked.c.key, ranked.c.currency, ranked.c.now, ranked.c.before,
                                               ranked.c.total).where(ranked.c.place <= keep)).all()
            kept += [ChangeRow(per, key, currency, now, before) for key, currency, now, before, _ in rows]
            counts[per] = rows[0].total if rows else 0
        self.replace_changes(batch_id, kept)
        return counts

    def replace_changes(self, batch_id: int, rows: Sequence[ChangeRow]) -> None:
        """Store ``rows`` as the batch's changes, in place of those stored before."""
        self.session.execute(delete(BatchChange).where(BatchChange.batch_id == batch_id))
        for chunk in chunks(rows):
            self.session.execute(insert(BatchChange), [
                {"batch_id": batch_id, "per": row.per, "key": row.key, "currency": row.currency,
                 "now_units": row.now, "before_units": row.before, "delta_units": row.delta} for row in chunk])

    def nets(self, batch_id: int, shard: Shard) -> list[Any]:
        """The net of the batch's lines of ``shard``'s invoices per customer, subscription and currency, in 10^-4
        units, with the most decimals among them (``customer_id``, ``subscription_id``, ``currency``, ``units``,
        ``places``): the previous month's side of the changes a build works out range by range."""
        return self.session.execute(
            select(InvoiceLine.customer_id, InvoiceLine.subscription_id, InvoiceLine.currency,
                   func.sum(units(self.session, InvoiceLine.amount)).label("units"),
                   func.max(decimals(self.session, InvoiceLine.amount)).label("places"))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.batch_id == batch_id, shard.where(Invoice.customer_id))
            .group_by(InvoiceLine.customer_id, InvoiceLine.subscription_id, InvoiceLine.currency)
        ).all()

    def stored_changes(self, batch_id: int, per: Per, limit: int) -> list[Change]:
        """The ``limit`` largest of the changes ``store_changes`` stored, in ``changes``' order (how many there are
        is what ``store_changes`` returned): the index hands the largest deltas over, the database orders the ties
        at the cut by name."""
        stored = (BatchChange.batch_id == batch_id, BatchChange.per == per)
        cut = self.session.scalar(select(BatchChange.delta_units).where(*stored)
                                  .order_by(BatchChange.delta_units.desc()).offset(limit - 1).limit(1))
        rows = (select(BatchChange.key, BatchChange.currency, BatchChange.now_units.label("now"),
                       BatchChange.before_units.label("before"))
                .where(*stored, BatchChange.delta_units >= (cut or 0)).subquery())
        query, name = self._named(rows, per)
        found = self.session.execute(self._largest_first(query, rows, name).limit(limit)).all()
        return [Change(ident, label, currency, amount(now, None, ""), amount(before, None, ""))
                for ident, currency, now, before, label, _ in found]

    def check(self, batch_id: int, kind: str) -> BatchCheck | None:
        """What the build stored of the batch's ``kind`` review figure."""
        return self.session.scalar(select(BatchCheck).where(BatchCheck.batch_id == batch_id, BatchCheck.kind == kind))

    def record_check(self, batch_id: int, kind: str, inputs: str, result: dict[str, Any], at: dt.datetime) -> None:
        """Store the batch's ``kind`` review figure worked out at ``at`` from the ledger state ``inputs`` names."""
        row = self.check(batch_id, kind)
        if row is None:
            self.session.add(BatchCheck(batch_id=batch_id, kind=kind, inputs=inputs, result=result, checked_at=at))
        else:
            row.inputs, row.result, row.checked_at = inputs, result, at

    def open_discrepancies(self, tenant_id: int, batch_id: int) -> Sequence[Discrepancy]:
        """Open discrepancies of the tenant's subscriptions that the batch bills."""
        billed = (select(InvoiceLine.id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                  .where(InvoiceLine.subscription_id == Discrepancy.subscription_id, Invoice.batch_id == batch_id))
        return self.session.scalars(
            select(Discrepancy)
            .where(Discrepancy.tenant_id == tenant_id, Discrepancy.status == "open", exists(billed))
            .order_by(Discrepancy.subscription_id, Discrepancy.day, Discrepancy.id)
        ).all()

