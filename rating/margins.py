"""Margin and the vendor-invoice check: what we billed set against what the vendor charged us.

Both views work on ``Charge`` — one amount over an inclusive stretch of days of one subscription, either a billed
invoice line or a vendor cost line — so the rules read the same for Microsoft's reconciliation lines and the
distributors' invoice items.

**Margin** is billed minus vendor cost per legal entity, customer, product, month and currency. A charge belongs
to the month its stretch starts in (the rule reconciliation's ``negative_margin`` finding uses), and amounts of
different currencies are never added: the currency is part of every key.

**Matching** (the revenue-leakage check): a vendor charge and a billed line match when the billed line's lineage
names that vendor charge (one-time purchases and refunds are priced from their cost line and carry no
subscription), or when both name the same subscription and their stretches overlap by at least one day (both ends
inclusive). The overlap rule is many-to-many on
purpose: a month's vendor line is often billed as two lines when the seat count changed mid-month, and a vendor
credit after a reduction overlaps the charge it reverses. A vendor charge that matches nothing was never billed
(leakage); a billed line that matches nothing has no vendor charge behind it. A vendor charge of zero (a trial)
loses nothing and is not leakage.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Charge:
    """One amount over ``first``..``last`` (inclusive) of a subscription (``None``: not tied to one)."""

    ref: str  # the invoice line key or the vendor's cost line id
    tenant: str
    customer: str
    product: str
    subscription: int | None
    first: dt.date
    last: dt.date  # inclusive
    amount: Decimal
    currency: str
    links: frozenset[str] = frozenset()  # refs of the vendor charges a billed line's lineage names

    @property
    def month(self) -> str:
        return f"{self.first:%Y-%m}"


@dataclass(frozen=True)
class MarginRow:
    tenant: str
    customer: str
    product: str
    month: str
    currency: str
    billed: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.billed - self.cost

    @property
    def negative(self) -> bool:
        return self.margin < 0


@dataclass(frozen=True)
class Total:
    """Sums of one legal entity (``tenant``; ``""`` across entities) in one currency."""

    tenant: str
    currency: str
    billed: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.billed - self.cost


def margins(billed: Iterable[Charge], costs: Iterable[Charge]) -> list[MarginRow]:
    """Billed and vendor cost per tenant, customer, product, month and currency, in that order."""
    sums: dict[tuple[str, str, str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for column, charges in ((0, billed), (1, costs)):
        for charge in charges:
            sums[(charge.tenant, charge.customer, charge.product, charge.month, charge.currency)][column] += \
                charge.amount
    return [MarginRow(*key, billed=b, cost=c) for key, (b, c) in sorted(sums.items())]


def totals(rows: Iterable[MarginRow], across_tenants: bool = False) -> list[Total]:
    """Per tenant and currency (``across_tenants``: per currency only); never one sum over two currencies."""
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        cell = sums[("" if across_tenants else row.tenant, row.currency)]
        cell[0] += row.billed
        cell[1] += row.cost
    return [Total(tenant, currency, b, c) for (tenant, currency), (b, c) in sorted(sums.items())]


@dataclass(frozen=True)
class Match:
    """A vendor charge with the billed lines it matched (empty: never billed)."""

    vendor: Charge
    billed: tuple[Charge, ...]


@dataclass(frozen=True)
class Matching:
    matched: tuple[Match, ...]
    unbilled: tuple[Charge, ...]  # vendor charges no billed line covers: revenue leakage
    unbacked: tuple[Charge, ...]  # billed lines no vendor charge covers


def overlaps(a: Charge, b: Charge) -> bool:
    """The period rule: the same subscription and at least one day in common (inclusive ends)."""
    return a.subscription is not None and a.subscription == b.subscription and a.first <= b.last and b.first <= a.last


def match(vendor: Sequence[Charge], billed: Sequence[Charge]) -> Matching:
    """Match every vendor charge to the billed lines it overlaps (see the module docstring for the rule)."""
    by_subscription: dict[int, list[Charge]] = defaultdict(list)
    by_link: dict[str, list[Charge]] = defaultdict(list)
    for line in billed:
        if line.subscription is not None:
            by_subscription[line.subscription].append(line)
        for ref in line.links:
            by_link[ref].append(line)
    matched, unbilled, used = [], [], set()
    for charge in vendor:
        linked = by_link.get(charge.ref, [])
        found = tuple(linked + [line for line in by_subscription.get(charge.subscription or -1, ())
                                if overlaps(charge, line) and line not in linked])
        if found:
            matched.append(Match(charge, found))
            used.update(id(line) for line in found)
        elif charge.amount != 0:
            unbilled.append(charge)
    unbacked = tuple(line for line in billed if id(line) not in used)
    return Matching(tuple(matched), tuple(unbilled), unbacked)


def sums(charges: Iterable[Charge]) -> dict[str, Decimal]:
    """``{currency: total}`` of ``charges``, currencies in alphabetical order."""
    found: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge in charges:
        found[charge.currency] += charge.amount
    return dict(sorted(found.items()))
