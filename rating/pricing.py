"""Sell prices: price-list versions by date, fixed-price and markup rules, the vendor cost they apply to, and currency
conversion with a recorded rate.

A licence is priced by a price-list version when one is valid, else a fixed-price rule, else the vendor cost plus the
tenant's markup (the most specific markup rule wins; none = sold at cost). Why all three: resellers keep list prices
for their main products and a markup for the long tail; each price carries a label for the line's lineage naming
which one produced it (the version id, or the cost, its source, the rule and the percentage).

Prices and rates stay exact (``Decimal`` in, ``Fraction`` arithmetic) and are never rounded here: rounding happens
once per line in :mod:`rating.rounding`. Whatever was used (price-list version, markup rule, FX rate with its source
and date) is returned alongside the value so it can go into lineage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from rating.fx import FxRate as FxRate  # re-exported: callers priced with FX before rating.fx existed
from rating.fx import FxTable as FxTable


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
class PricedCustomer:
    """The customer a price is for, as price rules name it (id, name, ERP reference)."""

    id: int
    name: str
    reference: str | None

    @property
    def key(self) -> str:
        """How a markup rule's ``customer`` names a customer: its ERP reference, else its name."""
        return self.reference or self.name


@dataclass(frozen=True, slots=True)
class ListPrice:
    """One price-list version of a product: a unit price per billing period, valid from ``valid_from`` to
    ``valid_to`` (inclusive; ``None`` = open), for every customer or (``customer_id``) one customer."""

    version_id: int
    product: str
    billing: str
    unit_price: Decimal
    valid_from: date
    valid_to: date | None = None
    customer_id: int | None = None


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """A fixed-price rule: ``unit_price`` for the matching licences; ``None`` scope fields match anything."""

    rule_id: str
    unit_price: Decimal
    tenant: str | None = None
    customer: str | None = None  # name, ERP reference or id
    product: str | None = None
    meter_category: str | None = None  # a rule for a meter category never prices a licence
    valid_from: date | None = None


@dataclass(frozen=True, slots=True)
class VendorCost:
    """A unit price the vendor charged for a subscription's product (a cost line), from ``charge_start``."""

    line_id: int
    subscription_id: int
    product: str
    unit_price: Decimal
    charge_start: date


@dataclass(frozen=True, slots=True)
class Price:
    unit_price: Decimal
    label: str  # goes into lineage as the price version


class PriceBook:
    """One tenant's list prices, fixed-price and markup rules and vendor costs, resolved in memory for a whole build."""

    def __init__(self, tenant: str, list_prices: Iterable[ListPrice], fixed: Iterable[FixedPrice], markups: Markups,
                 costs: Iterable[VendorCost] = ()) -> None:
        self._tenant = tenant
        self._costs: dict[int, list[VendorCost]] = defaultdict(list)
        for cost in costs:
            if cost.unit_price > 0:
                self._costs[cost.subscription_id].append(cost)
        self._versions: dict[str, list[ListPrice]] = defaultdict(list)
        for version in list_prices:
            self._versions[version.product].append(version)
        self._fixed = [rule for rule in fixed if rule.tenant in (None, tenant)]
        self.markups = markups

    def version_days(self, product: str) -> set[date]:
        """Days on which a price-list version of ``product`` starts or ends (price changes to look at)."""
        days: set[date] = set()
        for version in self._versions.get(product, ()):
            days.add(version.valid_from)
            if version.valid_to is not None:
                days.add(version.valid_to + timedelta(days=1))
        return days

    def _version(self, product: str, customer_id: int, billing: str, day: date) -> ListPrice | None:
        """The valid version on ``day``; a customer's own version beats the general one, the later listed wins."""
        found: ListPrice | None = None
        for version in self._versions.get(product, ()):
            if version.billing != billing or version.valid_from > day:
                continue
            if version.valid_to is not None and version.valid_to < day:
                continue
            if version.customer_id not in (None, customer_id):
                continue
            specific = version.customer_id is not None
            if found is None or specific >= (found.customer_id is not None):
                found = version
        return found

    def _fixed_rule(self, customer: PricedCustomer, product: str, day: date) -> FixedPrice | None:
        """The first fixed-price rule matching the licence, in the order the rules were given."""
        names = {customer.name, customer.reference, str(customer.id)}
        for rule in self._fixed:
            if rule.product not in (None, product) or rule.meter_category is not None:
                continue
            if rule.customer not in (None, *names) or (rule.valid_from is not None and rule.valid_from > day):
                continue
            return rule
        return None

    def vendor_cost(self, subscription_id: int, product: str, day: date) -> tuple[Decimal, str] | None:
        """The unit price the vendor charged for the subscription's product (latest cost line charged on or before
        ``day``, else the first one): the cost basis when snapshots carry none (Partner Center licences)."""
        costs = [cost for cost in self._costs.get(subscription_id, ()) if cost.product == product]
        costs = costs or self._costs.get(subscription_id, [])
        if not costs:
            return None
        earlier = [cost for cost in costs if cost.charge_start <= day]
        cost = earlier[-1] if earlier else costs[0]
        return cost.unit_price, f"cost line {cost.line_id}"

    def licence_price(self, product: str, customer: PricedCustomer, billing: str, day: date,
                      unit_cost: Decimal | None, cost_source: str = "snapshot") -> Price | None:
        """The sell price per unit per billing period on ``day``; ``None`` when nothing prices it."""
        version = self._version(product, customer.id, billing, day)
        if version is not None:
            return Price(version.unit_price, f"price_list_version {version.version_id} (from {version.valid_from})")
        rule = self._fixed_rule(customer, product, day)
        if rule is not None:
            return Price(rule.unit_price, f"{rule.rule_id} fixed {rule.unit_price}")
        if unit_cost is None:
            return None
        markup = self.markups.resolve(self._tenant, customer.key, product, None, day)
        if markup is None:
            return Price(unit_cost, f"cost {unit_cost} ({cost_source}), no markup rule")
        price = apply_markup(Fraction(unit_cost), markup)  # terminates: a decimal cost times a decimal percentage
        return Price(Decimal(price.numerator) / Decimal(price.denominator),
                     f"cost {unit_cost} ({cost_source}) + {markup.percent}% ({markup.rule_id})")
