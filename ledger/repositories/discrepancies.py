"""Discrepancies: one row per distinct finding (its fingerprint), open until a person resolves it or reconcile finds
its cause gone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, func, or_, select

from ledger.models import Batch, Customer, Discrepancy, Invoice, InvoiceLine
from ledger.repositories.base import Repository, chunks


class BilledView(NamedTuple):
    """What the billed view reads of a line (``services.batches.billed_seats``, ``vendor_counts``,
    ``desk.reconcile``). Of its lineage only what a correction says should be billed now (``should``; ``None`` for a
    line that corrects nothing): the database reads it out of the JSON text, which is not parsed for every line of a
    legal entity's month (a review of the draft read 900 k lineages at the largest hosts). A build's own draft lines
    are read this way before they are written (``vendor_counts.draft_view``): without an ``id``."""

    id: int | None
    subscription_id: int | None
    base_key: str
    version: int
    kind: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    period_from: dt.date | None
    period_to: dt.date | None
    should: str | None


BILLED_VIEW = (InvoiceLine.id, InvoiceLine.subscription_id, InvoiceLine.base_key, InvoiceLine.version,
               InvoiceLine.kind, InvoiceLine.quantity, InvoiceLine.unit_price, InvoiceLine.amount,
               InvoiceLine.period_from, InvoiceLine.period_to,
               InvoiceLine.lineage[("correction", "should")].as_string().label("should"))

BILLED_BATCHES = ("approved", "exported")


class DiscrepancyRepository(Repository):
    def get(self, discrepancy_id: int) -> Discrepancy | None:
        return self.session.get(Discrepancy, discrepancy_id)

    def by_fingerprint(self, fingerprint: str) -> Discrepancy | None:
        return self.session.scalar(select(Discrepancy).where(Discrepancy.fingerprint == fingerprint))

    def raise_(self, fingerprint: str, seen_at: dt.datetime, moves: Sequence[str] = ("sentence",),
               known: Mapping[str, Discrepancy] | None = None, **fields: Any) -> tuple[Discrepancy, bool]:
        """Record a finding; the same finding again moves ``last_seen_at`` and the fields named in ``moves`` (e.g.
        "not provisioned after 3 days" grows; a reconcile finding's range and amount follow) and keeps a
        resolution. ``known`` holds the rows of every fingerprint that can be meant (``of_month``): a
        reconcile run looks them up there instead of one query each, and its new rows get their ids at the next
        flush instead of one flush each.

        Returns (row, created).
        """
        found = self.by_fingerprint(fingerprint) if known is None else known.get(fingerprint)
        if found is not None:
            found.last_seen_at = seen_at
            for name in moves:
                if name in fields:
                    setattr(found, name, fields[name])
            return found, False
        row = Discrepancy(fingerprint=fingerprint, first_seen_at=seen_at, last_seen_at=seen_at, **fields)
        self.session.add(row)
        if known is None:
            self.session.flush()
        return row, True

    def of_month(self, tenant_id: int, month: str, any_month: Sequence[str]) -> dict[str, Discrepancy]:
        """The tenant's discrepancies of ``month`` and those of the kinds in ``any_month`` (any status), by
        fingerprint: every row a reconcile run of the month can meet again."""
        query = select(Discrepancy).where(Discrepancy.tenant_id == tenant_id,
                                          or_(Discrepancy.month == month, Discrepancy.kind.in_(any_month)))
        return {row.fingerprint: row for row in self.session.scalars(query)}

    def search(
        self,
        tenant_ids: Sequence[int],
        kind: str | None = None,
        status: str | None = None,
        subscription_id: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[Discrepancy]:
        query = _matching(select(Discrepancy), tenant_ids, kind, status, subscription_id)
        query = query.order_by(Discrepancy.day.desc(), Discrepancy.id.desc()).limit(limit).offset(offset)
        return self.session.scalars(query).all()

    def count(self, tenant_ids: Sequence[int], kind: str | None = None, status: str | None = None,
              subscription_id: int | None = None) -> int:
        """How many discrepancies :meth:`search` would page through with the same filters."""
        query = _matching(select(func.count(Discrepancy.id)), tenant_ids, kind, status, subscription_id)
        return self.session.scalar(query) or 0

    def findings(
        self,
        tenant_ids: Sequence[int],
        kind: str | None = None,
        status: str | None = None,
        customer: str | None = None,
        owner: str | None = None,
        month: str | None = None,
    ) -> Sequence[Row]:
        """What the findings list sorts, counts and totals, of every matching finding (``id``, ``kind``, ``day``,
        ``last_day``, ``amount``, ``currency``, ``customer``: the customer's name), filtered in the database; the
        caller sorts (``amount`` is exact text on SQLite, so the database cannot order it) and reads the rows of
        the page it shows (``with_customers``). Narrow rows, so that fifty thousand findings are all sorted and
        counted, not a first slice of them."""
        query = (select(Discrepancy.id, Discrepancy.kind, Discrepancy.day, Discrepancy.last_day, Discrepancy.amount,
                        Discrepancy.currency, Customer.name.label("customer"))
                 .outerjoin(Customer, Customer.id == Discrepancy.customer_id))
        query = _matching(query, tenant_ids, kind, status, None)
        if customer:
            query = query.where(Customer.name.ilike(f"%{customer}%"))
        if owner:
            query = query.where(Discrepancy.owner == owner)
        if month:
            query = query.where(Discrepancy.month == month)
        return self.session.execute(query).all()

    def with_customers(self, ids: Sequence[int]) -> dict[int, tuple[Discrepancy, str | None]]:
        """The named findings (one page of a list) with their customer's name, by id."""
        query = (select(Discrepancy, Customer.name).outerjoin(Customer, Customer.id == Discrepancy.customer_id)
                 .where(self.one_of(Discrepancy.id, ids)))
        return {row.id: (row, name) for row, name in self.session.execute(query)}

    def open_of(self, tenant_id: int, kinds: Sequence[str]) -> Sequence[Discrepancy]:
        """Open findings of these kinds: the ones a reconcile run may find gone."""
        return self.session.scalars(select(Discrepancy).where(
            Discrepancy.tenant_id == tenant_id, Discrepancy.kind.in_(kinds), Discrepancy.status == "open",
        ).order_by(Discrepancy.id)).all()

    def billed_lines(self, subscription_ids: Sequence[int], first: dt.date, last: dt.date,
                     draft: int | None = None) -> list[Any]:
        """The billed view reconciliation compares against: invoice lines of these subscriptions overlapping
        ``first``..``last`` (inclusive) in approved or exported batches (a draft is not billed yet), and those of the
        ``draft`` batch the review cockpit is about to approve, as :class:`BilledView` rows, not ORM objects: a
        reconciliation reads a legal entity's month of lines."""
        found: list[BilledView] = []
        for chunk in chunks(subscription_ids):
            found += self.bulk_rows(
                select(*BILLED_VIEW)
                .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                .join(Batch, Batch.id == Invoice.batch_id)
                .where(
                    self.one_of(InvoiceLine.subscription_id, chunk),
                    InvoiceLine.period_from <= last,
                    InvoiceLine.period_to >= first,
                    or_(Batch.status.in_(BILLED_BATCHES), Batch.id == draft),
                )
                .order_by(InvoiceLine.id),
                BilledView._make,
            )
        return found


def _matching(query: Select, tenant_ids: Sequence[int], kind: str | None, status: str | None,
              subscription_id: int | None) -> Select:
    query = query.where(Discrepancy.tenant_id.in_(tenant_ids))
    if kind:
        query = query.where(Discrepancy.kind == kind)
    if status:
        query = query.where(Discrepancy.status == status)
    if subscription_id is not None:
        query = query.where(Discrepancy.subscription_id == subscription_id)
    return query
