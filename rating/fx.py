"""Exchange rates: a recorded rate, the table of recorded rates, and the rule that picks a line's rate.

Why exact: rates come as published decimals of one base currency (the ECB quotes ``1 EUR = rate X``), yet lines need
every direction. ``X->EUR`` is the inverse ``1/rate`` and ``X->Y`` the cross ``rate(Y)/rate(X)`` of the same day and
source; neither is a terminating decimal, so a rate is kept as the exact quotient of two published numbers and
written that way in lineage ("USD->EUR 1/1.0834 (ECB, 2026-10-01)"), never as a rounded third number. Converting
``X->EUR->X`` therefore returns the value exactly. Nothing here rounds: a line rounds once, after conversion.

Which day's rate applies to a line is the tenant's rule (:class:`FxRateDate`); the rate itself is always the latest
one dated on or before that day (no rates on weekends and TARGET holidays).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from rating.months import month_end


@dataclass(frozen=True, slots=True)
class FxRate:
    """``1 base = rate / per quote`` from ``source`` for ``rate_date``; ``per`` is 1 for a published rate, the
    published rate itself for an inverse, the base currency's rate for a cross rate."""

    source: str
    base: str
    quote: str
    rate: Decimal
    rate_date: date
    per: Decimal = Decimal(1)

    @property
    def exact(self) -> Fraction:
        return Fraction(self.rate) / Fraction(self.per)

    @property
    def text(self) -> str:
        """The rate as published numbers: ``1.0834``, ``1/1.0834`` (inverse), ``0.8512/1.0834`` (cross)."""
        return str(self.rate) if self.per == 1 else f"{self.rate}/{self.per}"

    def convert(self, value: Fraction) -> Fraction:
        """An unrounded amount in ``base`` converted to ``quote`` (round afterwards, once)."""
        return value * self.exact

    def describe(self) -> str:
        return f"{self.base}->{self.quote} {self.text} ({self.source}, {self.rate_date.isoformat()})"


class MissingRate(KeyError):
    """No rate converts ``base`` into ``quote`` on or before ``on`` (directly, inverted or crossed)."""

    def __init__(self, base: str, quote: str, on: date) -> None:
        super().__init__(base, quote, on)
        self.base, self.quote, self.on = base, quote, on

    def __str__(self) -> str:
        return f"no {self.base}->{self.quote} exchange rate on or before {self.on.isoformat()}"


class FxTable:
    """Recorded exchange rates; a lookup takes the latest rate dated on or before the day asked for: the pair as
    recorded, else its inverse, else the cross through a common base currency (same day and source)."""

    def __init__(self, rates: Iterable[FxRate]) -> None:
        series: dict[tuple[str, str], list[FxRate]] = defaultdict(list)
        for rate in rates:
            series[(rate.base, rate.quote)].append(rate)
        self._series = {pair: sorted(found, key=lambda rate: rate.rate_date) for pair, found in series.items()}
        self._days = {pair: [rate.rate_date for rate in found] for pair, found in self._series.items()}
        self._bases = {base for base, _ in self._series}

    def _latest(self, pair: tuple[str, str], on: date) -> FxRate | None:
        index = bisect_right(self._days.get(pair, []), on)
        return self._series[pair][index - 1] if index else None

    def _cross(self, base: str, quote: str, on: date) -> FxRate | None:
        found: FxRate | None = None
        for pivot in sorted(self._bases - {base, quote}):
            legs = self._series.get((pivot, base)), self._series.get((pivot, quote))
            if not legs[0] or not legs[1]:
                continue
            quotes = {(rate.rate_date, rate.source): rate for rate in legs[1] if rate.rate_date <= on}
            for leg in reversed(legs[0][:bisect_right(self._days[(pivot, base)], on)]):
                other = quotes.get((leg.rate_date, leg.source))
                if other is not None:
                    if found is None or leg.rate_date > found.rate_date:
                        found = FxRate(leg.source, base, quote, other.rate, leg.rate_date, per=leg.rate)
                    break
        return found

    def rate(self, base: str, quote: str, on: date) -> FxRate:
        """``1 base = ? quote`` on day ``on``; raises :class:`MissingRate` when nothing recorded converts it."""
        if base == quote:
            return FxRate("identity", base, quote, Decimal(1), on)
        direct = self._latest((base, quote), on)
        if direct is not None:
            return direct
        inverse = self._latest((quote, base), on)
        if inverse is not None:
            return FxRate(inverse.source, base, quote, Decimal(1), inverse.rate_date, per=inverse.rate)
        cross = self._cross(base, quote, on)
        if cross is None:
            raise MissingRate(base, quote, on)
        return cross


class FxRateDate(StrEnum):
    """Which day's rate converts a line: ``charge_date`` = the latest rate on or before the line's bill date (for a
    licence billed in advance, the first day of the stretch it charges); ``invoice_date`` = the latest rate on or
    before the last day of the month the line is billed in (the batch month, whose invoices are dated in it)."""

    CHARGE_DATE = "charge_date"
    INVOICE_DATE = "invoice_date"

    def day(self, bill_date: date) -> date:
        return bill_date if self is FxRateDate.CHARGE_DATE else month_end(bill_date)


@dataclass(frozen=True, slots=True, eq=False)
class FxConversion:
    """Prices in ``base`` become amounts in ``quote``, each line at the rate ``rule`` picks for its bill date."""

    table: FxTable
    base: str
    quote: str
    rule: FxRateDate = FxRateDate.CHARGE_DATE

    def rate_for(self, bill_date: date) -> FxRate:
        return self.table.rate(self.base, self.quote, self.rule.day(bill_date))
