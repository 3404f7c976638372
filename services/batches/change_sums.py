"""The month-on-month changes of a draft, added up by the build from the lines it has just rated, range by range.

Why: the batch page lists the largest changes per customer and per subscription against the month before, and counts
them all (``services.batches.prepared``). Worked out from the stored lines, that is a ``GROUP BY`` over both months'
lines once the last range is stored: about 6 s at 900 k lines, with nothing else left to run beside it. Each range
of customers (``services.batches.desired``) holds its lines anyway, so it adds up their nets per customer,
subscription and currency in 10^-4 units (as ``ledger.repositories.sums`` does in SQL) and reads the previous
month's nets of its customers' invoices; the building process adds the ranges' sums together as they come back (a
subscription's lines, or the usage without one, can fall in several ranges) and keeps the largest changes.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.repositories.invoices import LineColumns
from ledger.repositories.review import PERS, ChangeRow, Per, delta_units
from ledger.repositories.sums import value_units
from ledger.shards import Shard
from services.uow import UnitOfWork

NOW, BEFORE = 0, 1  # the sides of a net: [units in the batch, units in the batch before]; None where no line
Nets = dict[tuple[int | None, str], list[int | None]]


@dataclass
class ChangeSums:
    """Nets per view (``per``), key (customer or subscription id) and currency; ``places``: the most decimals among
    the amounts summed (beyond 10^-4 the sums are meaningless, and the build leaves the figure to the database's
    sums, which refuse the amount by name)."""

    nets: dict[Per, Nets] = field(default_factory=lambda: {per: {} for per in PERS})
    places: int = 0

    def add(self, other: ChangeSums) -> None:
        """Add ``other``'s nets (another range's) to these."""
        self.places = max(self.places, other.places)
        for per, nets in other.nets.items():
            mine = self.nets[per]
            shared = {key: [_plus(a, b) for a, b in zip(mine[key], nets[key], strict=True)]
                      for key in nets.keys() & mine.keys()}  # few: a range's keys are mostly its own
            mine.update(nets)
            mine.update(shared)

    def kept(self, keep: int) -> tuple[list[ChangeRow], dict[Per, int]]:
        """The changes (nets that differ between the months), the ``keep`` largest per view with the ties at the
        cut, and how many there are per view: what ``ReviewRepository.store_changes`` keeps and counts. Only the
        kept ones are made rows (a build's million changes as rows: 1.4 s; their keys ranked: 0.6 s)."""
        kept: list[ChangeRow] = []
        counts: dict[Per, int] = {}
        for per in PERS:
            nets = self.nets[per]
            changed = [(key, sides) for key, sides in nets.items() if sides[NOW] != sides[BEFORE]]
            counts[per] = len(changed)
            if len(changed) > keep:  # each size worked out once: this runs after the last range, on one core
                sizes = [delta_units(*sides) for _, sides in changed]
                cut = heapq.nlargest(keep, sizes)[-1]
                changed = [item for item, size in zip(changed, sizes, strict=True) if size >= cut]
            kept += [ChangeRow(per, key[0], key[1], *sides) for key, sides in changed]
        return kept, counts


def _plus(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def range_sums(uow: UnitOfWork, lines: LineColumns, previous_id: int | None, shard: Shard) -> ChangeSums:
    """The nets of a range's draft ``lines`` (this month) and of the previous batch's lines of the range's customers'
    invoices (the month before)."""
    sums = ChangeSums()
    by_customer, by_subscription = sums.nets["customer"], sums.nets["subscription"]
    converted: dict[Decimal, tuple[int, int]] = {}  # a range's lines repeat a few hundred amounts
    for amount, customer_id, subscription_id, currency in zip(
            lines.column("amount"), lines.column("customer_id"), lines.column("subscription_id"),
            lines.column("currency"), strict=True):
        units = converted.get(amount)
        if units is None:
            units = converted[amount] = value_units(amount)
        _count(by_customer, (customer_id, currency), NOW, units[0])
        _count(by_subscription, (subscription_id, currency), NOW, units[0])
    sums.places = max((places for _, places in converted.values()), default=0)
    if previous_id is not None:
        for row in uow.review.nets(previous_id, shard):
            _count(by_customer, (row.customer_id, row.currency), BEFORE, row.units)
            _count(by_subscription, (row.subscription_id, row.currency), BEFORE, row.units)
            sums.places = max(sums.places, row.places or 0)
    return sums


def _count(nets: Nets, key: tuple[int | None, str], side: int, units: int) -> None:
    sides = nets.get(key)
    if sides is None:
        sides = nets[key] = [None, None]
    sides[side] = units if sides[side] is None else sides[side] + units  # type: ignore[operator]

