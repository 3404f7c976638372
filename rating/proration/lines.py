"""What rating produces: rated charge and credit lines, their deterministic keys, and a line as a credit sees it.

Why apart: a rated line outlives the run that made it. Its key becomes part of the ledger's invoice line key, and
once invoiced it comes back as an :class:`InvoicedLine`, the only thing a later credit is computed from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import cast

from rating.fx import FxRate
from rating.lineage import Lineage
from rating.money import Money
from rating.periods import BillingPeriod


class LineKind(StrEnum):
    """A rebill is a ``charge`` whose stretch starts at the change date, not at the charge-period start."""

    CHARGE = "charge"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True, order=True)
class LineKey:
    """Deterministic identity of a rated line, usable inside an invoice line key.

    ``period_start`` is the first day of the charge period the line belongs to; ``stretch_start`` the first day it
    covers (equal for a period charge, the change date for a credit or rebill); ``sequence`` tells apart further
    credits against the same stretch (0 unless a caller numbers corrections).
    """

    subscription: str
    period_start: date
    kind: LineKind
    stretch_start: date
    sequence: int = 0

    def as_tuple(self) -> tuple[str, str, str, str, int]:
        return (self.subscription, self.period_start.isoformat(), self.kind.value, self.stretch_start.isoformat(),
                self.sequence)


@dataclass(frozen=True, slots=True)
class InvoicedLine:
    """What a credit needs to know of a line already charged: its span, the fraction it was charged with (1 for a
    whole period), its exact unrounded amount and the amount as invoiced (rounded)."""

    key: LineKey
    period: BillingPeriod
    stretch_end: date
    quantity: int
    unit_price: Decimal
    fraction: Fraction
    unrounded: Fraction
    amount: Money
    product: str | None = None
    price_version: str | None = None
    fx: FxRate | None = None  # the rate it was converted with; ``unit_price`` is then in ``fx.base``


@dataclass(slots=True)
class PlainLine:
    """A rated line as plain values, its lineage as the dict :meth:`Lineage.to_dict` gives: what a ledger line is made
    of. The scalar engine's :class:`RatedLine` gives one (:meth:`RatedLine.plain`); the vectorised engine builds them
    directly (``rating.bulk_lines``: a million lines without four objects each). Not frozen, for the same reason."""

    subscription: str
    kind: str  # charge, credit
    period_start: date  # the charge period's first day (``LineKey.period_start``)
    stretch_start: date
    stretch_end: date
    bill_date: date
    quantity: int
    unit_price: Decimal
    product: str | None
    days: int
    period_days: int
    unrounded: Fraction
    amount: Decimal
    currency: str
    lineage: dict[str, object] | None
    fx: FxRate | None = None
    explain: Callable[[], dict[str, object]] | None = None  # builds ``lineage`` when it was deferred (None)

    def full_lineage(self) -> dict[str, object]:
        """The lineage dict, built now if the engine deferred it (``rating.bulk_lines``: a line a build only compares
        with what was billed never needs one)."""
        if self.explain is not None:
            self.lineage, self.explain = self.explain(), None
        return cast(dict[str, object], self.lineage)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One charge or credit over ``[key.stretch_start, stretch_end]`` (inclusive), rounded once."""

    key: LineKey
    period: BillingPeriod
    stretch_end: date
    quantity: int
    unit_price: Decimal
    product: str | None
    days: int
    period_days: int
    unrounded: Fraction
    amount: Money
    formula: str
    lineage: Lineage
    bill_date: date
    fx: FxRate | None = None  # the rate ``unrounded`` was converted with; ``unit_price`` is then in ``fx.base``

    def plain(self) -> PlainLine:
        return PlainLine(self.key.subscription, self.key.kind.value, self.key.period_start, self.key.stretch_start,
                         self.stretch_end, self.bill_date, self.quantity, self.unit_price, self.product, self.days,
                         self.period_days, self.unrounded, self.amount.amount, self.amount.currency,
                         self.lineage.to_dict(), self.fx)

    def invoiced(self) -> InvoicedLine:
        """This line as a credit sees it once it has been invoiced."""
        return InvoicedLine(
            key=self.key,
            period=self.period,
            stretch_end=self.stretch_end,
            quantity=self.quantity,
            unit_price=self.unit_price,
            fraction=Fraction(self.days, self.period_days),
            unrounded=self.unrounded,
            amount=self.amount,
            product=self.product,
            price_version=self.lineage.price_version,
            fx=self.fx,
        )


def fx_details(fx: FxRate, unit_price: Decimal) -> dict[str, str]:
    """What lineage says of a converted line: the rate as text, and the original currency, unit price, rate, rate
    date and source one by one (a credit repeats those of the line it credits)."""
    return {"fx": fx.describe(), "fx_currency": fx.base, "fx_unit_price": str(unit_price), "fx_rate": fx.text,
            "fx_rate_date": fx.rate_date.isoformat(), "fx_source": fx.source}
