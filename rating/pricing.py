"""Price lists versioned by date, markup rules, and currency conversion with a recorded rate.

Prices and rates stay exact (``Decimal`` in, ``Fraction`` arithmetic) and are never rounded here: rounding happens
once per line in :mod:`rating.rounding`. Whatever was used (price-list version, markup rule, FX rate with its source
and date) is returned alongside the value so it can go into lineage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """One version of a price list: unit prices per product (per billing period) from ``effective_from`` on."""

    version_id: str
    effective_from: date
    currency: str
    prices: Mapping[str, Decimal]


class PriceList:
    """All versions of one price list; a date picks the latest version in force that prices the product."""

    def __init__(self, versions: Iterable[PriceVersion]) -> None:
        self._versions = sorted(versions, key=lambda version: (version.effective_from, version.version_id))

    def price(self, product: str, on: date) -> tuple[Decimal, PriceVersion]:
        """The unit price of ``product`` on day ``on`` and the version it comes from."""
        for version in reversed(self._versions):
            if version.effective_from <= on and product in version.prices:
                return version.prices[product], version
        raise KeyError(f"no price for {product!r} on {on.isoformat()}")


@dataclass(frozen=True, slots=True)
class MarkupRule:
    """A markup in percent on cost; ``None`` scope fields match anything. More specific rules win."""

    rule_id: str
    percent: Decimal
    tenant: str | None = None
    customer: str | None = None
    product: str | None = None
    meter_category: str | None = None
    effective_from: date = date.min

    def matches(self, tenant: str, customer: str, product: str | None, meter_category: str | None, on: date) -> bool:
        wanted = (tenant, customer, product, meter_category)
        scope = (self.tenant, self.customer, self.product, self.meter_category)
        return self.effective_from <= on and all(s is None or s == w for s, w in zip(scope, wanted, strict=True))

    @property
    def priority(self) -> tuple[tuple[bool, bool, bool, bool], date, str]:
        """Most specific first (customer beats product beats meter category beats tenant: a customer deal
        overrides a catalogue markup), then the latest ``effective_from``, then the rule id, so the choice never
        depends on the order the rules were configured in."""
        specificity = (self.customer is not None, self.product is not None, self.meter_category is not None,
                       self.tenant is not None)
        return specificity, self.effective_from, self.rule_id


@dataclass(frozen=True, slots=True)
class Markups:
    """The reseller's markup rules; :meth:`resolve` picks the one that applies (or ``None``: sell at cost)."""

    rules: tuple[MarkupRule, ...] = field(default=())

    def in_force(self, tenant: str, on: date) -> list[MarkupRule]:
        """Rules that can apply to ``tenant`` on day ``on``, highest :attr:`MarkupRule.priority` first: the first
        one whose customer/product/meter-category scope matches is the one that applies."""
        rules = [rule for rule in self.rules if rule.tenant in (None, tenant) and rule.effective_from <= on]
        return sorted(rules, key=lambda rule: rule.priority, reverse=True)

    def resolve(self, tenant: str, customer: str, product: str | None, meter_category: str | None,
                on: date) -> MarkupRule | None:
        """The rule that applies to one line (``None``: no markup)."""
        for rule in self.in_force(tenant, on):
            if rule.matches(tenant, customer, product, meter_category, on):
                return rule
        return None


def apply_markup(value: Fraction, rule: MarkupRule | None) -> Fraction:
    """``value × (1 + percent / 100)``, exact."""
    return value if rule is None else value * (1 + Fraction(rule.percent) / 100)


@dataclass(frozen=True, slots=True)
class FxRate:
    """``1 base = rate quote``, from ``source`` (e.g. Microsoft's monthly rate, ECB reference) for ``rate_date``."""

    source: str
    base: str
    quote: str
    rate: Decimal
    rate_date: date

    def convert(self, value: Fraction) -> Fraction:
        """An unrounded amount in ``base`` converted to ``quote`` (round afterwards, once)."""
        return value * Fraction(self.rate)

    def describe(self) -> str:
        return f"{self.base}->{self.quote} {self.rate} ({self.source}, {self.rate_date.isoformat()})"


class FxTable:
    """Recorded exchange rates; a lookup takes the latest rate dated on or before the day asked for."""

    def __init__(self, rates: Iterable[FxRate]) -> None:
        self._rates = sorted(rates, key=lambda rate: rate.rate_date)

    def rate(self, base: str, quote: str, on: date) -> FxRate:
        if base == quote:
            return FxRate("identity", base, quote, Decimal(1), on)
        for rate in reversed(self._rates):
            if (rate.base, rate.quote) == (base, quote) and rate.rate_date <= on:
                return rate
        raise KeyError(f"no {base}->{quote} exchange rate on or before {on.isoformat()}")
