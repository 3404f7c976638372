"""Monthly recurring revenue and how it moves: MRR per customer and month, churn and expansion between months.

**MRR** of a month is the recurring billed amount (licence charges, credits and corrections; not usage, not
one-time purchases) whose charge stretch starts in that month. A stretch of *n* whole charge months (an annual
term paid up front: 12) adds ``amount / n`` to each of its *n* months, so a yearly invoice does not look like a
spike followed by eleven months of churn; a stretch shorter than a month (a prorated start) counts in full in its
first month. The exact sums are rounded once per customer, month and currency by the tenant's policy, so the
entity's MRR is the sum of its customers' rounded figures. ARR is twelve times MRR.

**Movements** compare each customer's MRR with the month before, per currency: ``new`` (nothing before),
``churned`` (nothing now), ``expansion`` (more), ``contraction`` (less), ``unchanged``. MRR gained is new plus
expansion, MRR lost is churned plus contraction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rating.months import add_months, shift_month

ZERO = Decimal(0)
Rounder = Callable[[Fraction, str], Decimal]  # (exact amount, currency) -> rounded amount


@dataclass(frozen=True)
class Recurring:
    """A recurring billed amount of one customer over ``first``..``last`` (inclusive)."""

    tenant: str
    customer: str
    first: dt.date
    last: dt.date  # inclusive
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class MrrCell:
    tenant: str
    customer: str
    month: str
    currency: str
    mrr: Decimal

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


@dataclass(frozen=True)
class Movement:
    tenant: str
    customer: str
    month: str
    currency: str
    previous: Decimal
    current: Decimal
    kind: str  # new, expansion, contraction, churned, unchanged

    @property
    def change(self) -> Decimal:
        return self.current - self.previous


def charge_months(first: dt.date, last: dt.date) -> int:
    """Whole charge months in ``first``..``last`` (inclusive), at least 1: a month's anniversary counts one."""
    end = last + dt.timedelta(days=1)
    months = 0
    while add_months(first, months + 1) <= end:
        months += 1
    return max(months, 1)


def mrr(lines: Iterable[Recurring], rounder: Rounder) -> list[MrrCell]:
    """MRR per tenant, customer, month and currency (see the module docstring), sorted by those keys."""
    exact: dict[tuple[str, str, str, str], Fraction] = defaultdict(Fraction)
    for line in lines:
        months = charge_months(line.first, line.last)
        share = Fraction(line.amount) / months
        start = f"{line.first:%Y-%m}"
        for offset in range(months):
            exact[(line.tenant, line.customer, shift_month(start, offset), line.currency)] += share
    return [MrrCell(tenant, customer, month, currency, rounder(amount, currency))
            for (tenant, customer, month, currency), amount in sorted(exact.items())]


def classify(previous: Decimal, current: Decimal) -> str:
    """The movement of one customer's MRR from one month to the next."""
    if previous == current:
        return "unchanged"
    if previous == 0:
        return "new"
    if current == 0:
        return "churned"
    return "expansion" if current > previous else "contraction"


def movements(cells: Iterable[MrrCell], months: list[str]) -> list[Movement]:
    """Each customer's movement in each of ``months`` against the month before (``unchanged`` rows left out)."""
    by_key: dict[tuple[str, str, str], dict[str, Decimal]] = defaultdict(dict)
    for cell in cells:
        by_key[(cell.tenant, cell.customer, cell.currency)][cell.month] = cell.mrr
    found = []
    for (tenant, customer, currency), series in sorted(by_key.items()):
        for month in months:
            previous, current = series.get(shift_month(month, -1), ZERO), series.get(month, ZERO)
            kind = classify(previous, current)
            if kind != "unchanged":
                found.append(Movement(tenant, customer, month, currency, previous, current, kind))
    return found


GAINED, LOST = ("new", "expansion"), ("churned", "contraction")


def gained_and_lost(moves: Iterable[Movement]) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    """``{(tenant, month, currency): (MRR gained, MRR lost)}``; lost is a positive amount."""
    found: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for move in moves:
        cell = found[(move.tenant, move.month, move.currency)]
        if move.kind in GAINED:
            cell[0] += move.change
        elif move.kind in LOST:
            cell[1] -= move.change
    return {key: (gained, lost) for key, (gained, lost) in sorted(found.items())}
