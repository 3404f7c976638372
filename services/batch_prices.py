"""Sell prices for a batch: a price-list version when one is valid, else a fixed-price rule, else the vendor cost
plus the tenant's markup (``rating.pricing``: the most specific markup rule wins; none = sold at cost).

Why all three: resellers keep list prices for their main products and a markup for the long tail; each line's
lineage names which one produced its price (the version id, or the cost, its source, the rule and the percentage).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from config.schema import PriceRule
from ledger.models import CostLine, Customer, PriceListVersion
from rating.pricing import MarkupRule, Markups, apply_markup


@dataclass(frozen=True, slots=True)
class Price:
    unit_price: Decimal
    label: str  # goes into lineage as the price version


class PriceBook:
    """The tenant's price-list versions and price rules, resolved in memory for a whole build."""

    def __init__(self, tenant: str, versions: Sequence[PriceListVersion], rules: Sequence[PriceRule],
                 cost_lines: Sequence[CostLine] = ()) -> None:
        self._tenant = tenant
        self._costs: dict[int, list[CostLine]] = defaultdict(list)
        for line in cost_lines:
            if line.unit_price > 0:
                self._costs[line.subscription_id].append(line)
        self._versions: dict[str, list[PriceListVersion]] = defaultdict(list)
        for version in versions:
            self._versions[version.product_id].append(version)
        self._fixed_rules = [(i, rule) for i, rule in enumerate(rules)
                             if rule.tenant in (None, tenant) and rule.unit_price is not None]
        self.markups = markups(rules)

    def version_days(self, product: str) -> set[dt.date]:
        """Days on which a price-list version of ``product`` starts or ends (price changes to look at)."""
        days: set[dt.date] = set()
        for version in self._versions.get(product, ()):
            days.add(version.valid_from)
            if version.valid_to is not None:
                days.add(version.valid_to + dt.timedelta(days=1))
        return days

    def _version(self, product: str, customer_id: int, billing: str, day: dt.date) -> PriceListVersion | None:
        found: PriceListVersion | None = None
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

    def _fixed(self, customer: Customer, product: str, day: dt.date) -> tuple[int, PriceRule] | None:
        """The first fixed-price rule (``unit_price``) matching the licence, in config order."""
        names = {customer.name, customer.reference, str(customer.id)}
        for index, rule in self._fixed_rules:
            if rule.product not in (None, product) or rule.meter_category is not None:
                continue
            if rule.customer not in (None, *names) or (rule.valid_from is not None and rule.valid_from > day):
                continue
            return index, rule
        return None

    def vendor_cost(self, subscription_id: int, product: str, day: dt.date) -> tuple[Decimal, str] | None:
        """The unit price the vendor charged for the subscription's product (latest cost line charged on or before
        ``day``, else the first one): the cost basis when snapshots carry none (Partner Center licences)."""
        lines = [line for line in self._costs.get(subscription_id, ()) if line.product_id == product]
        lines = lines or self._costs.get(subscription_id, [])
        if not lines:
            return None
        earlier = [line for line in lines if line.charge_start <= day]
        line = earlier[-1] if earlier else lines[0]
        return line.unit_price, f"cost line {line.id}"

    def licence_price(self, product: str, customer: Customer, billing: str, day: dt.date,
                      unit_cost: Decimal | None, cost_source: str = "snapshot") -> Price | None:
        """The sell price per unit per billing period on ``day``; ``None`` when nothing prices it."""
        version = self._version(product, customer.id, billing, day)
        if version is not None:
            return Price(version.unit_price, f"price_list_version {version.id} (from {version.valid_from})")
        fixed = self._fixed(customer, product, day)
        if fixed is not None:
            index, rule = fixed
            return Price(rule.unit_price, f"price_rules[{index}] fixed {rule.unit_price}")
        if unit_cost is None:
            return None
        markup = self.markups.resolve(self._tenant, customer_key(customer), product, None, day)
        if markup is None:
            return Price(unit_cost, f"cost {unit_cost} ({cost_source}), no markup rule")
        price = apply_markup(Fraction(unit_cost), markup)  # terminates: a decimal cost times a decimal percentage
        return Price(Decimal(price.numerator) / Decimal(price.denominator),
                     f"cost {unit_cost} ({cost_source}) + {markup.percent}% ({markup.rule_id})")


def customer_key(customer: Customer) -> str:
    """How ``price_rules[].customer`` names a customer: its ERP reference, else its name."""
    return customer.reference or customer.name


def markups(rules: Sequence[PriceRule]) -> Markups:
    """The config's markup rules for ``rating.pricing`` (most specific wins; ids name the config entry)."""
    return Markups(tuple(
        MarkupRule(f"price_rules[{index}]", rule.markup_percent, rule.tenant, rule.customer, rule.product,
                   rule.meter_category, rule.valid_from or dt.date.min)
        for index, rule in enumerate(rules) if rule.markup_percent is not None))
