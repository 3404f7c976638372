"""Sell prices: versioned rules (a fixed price, or a percentage on the vendor cost or on Microsoft's list or ERP
price), Microsoft's licence price list, the vendor costs they apply to, and currency conversion with a recorded rate.

Why rules and not typed prices: resellers keep a few fixed prices for their main products and a percentage for the
long tail, and Microsoft changes its list monthly; "ERP price minus 5 %" should follow the list by itself. Every rule
and list row is a version: valid for a range of days, and known from one edition of the price book (an import) on,
so a build can read the book as it stood when a month was invoiced and never re-price it by accident. Each price
carries a label for the line's lineage naming what produced it (the rule's ledger id, the cost or list row, the
percentage).

Prices and rates stay exact (``Decimal`` in, ``Fraction`` arithmetic) and are never rounded here: rounding happens
once per line in :mod:`rating.rounding`. Whatever was used (rule, list row, FX rate with its source and date) is
returned alongside the value so it can go into lineage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import cast

from rating.fx import FxRate as FxRate  # re-exported: callers priced with FX before rating.fx existed
from rating.fx import FxTable as FxTable
from rating.months import month_end

_UNKNOWN = object()  # not yet in a cache whose answers may be None


class Basis(StrEnum):
    """What a percentage rule applies to: the vendor's cost, or Microsoft's partner (``list``) or estimated retail
    (``erp``) price from its licence price list, so "ERP price minus 5 %" is a rule and not a typed number."""

    COST = "cost"
    LIST = "list"
    ERP = "erp"


@dataclass(frozen=True, slots=True)
class Versioned:
    """Where a rule or list price stands in time: the days it is valid (inclusive; ``None`` = open) and the price-book
    editions that know it, from ``edition`` (the import that recorded it) until ``retired`` (the later import that
    replaced it, exclusive). An edition of ``None`` means the latest."""

    valid_from: date | None = None
    valid_to: date | None = None
    edition: int = 0
    retired: int | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def known(self, edition: int | None) -> bool:
        if edition is None:
            return self.retired is None
        return self.edition <= edition and (self.retired is None or edition < self.retired)


def specificity(rule: MarkupRule | FixedPrice) -> tuple[bool, bool, bool, bool]:
    """Customer beats product beats meter category beats tenant: a customer deal overrides a catalogue price."""
    return (rule.customer is not None, rule.product is not None, rule.meter_category is not None,
            rule.tenant is not None)


@dataclass(frozen=True, slots=True)
class MarkupRule:
    """A percentage on a basis (vendor cost unless said otherwise); ``None`` scope fields match anything. More
    specific rules win; among equally specific ones the newer edition, then the later start."""

    rule_id: str
    percent: Decimal
    tenant: str | None = None
    customer: str | None = None
    product: str | None = None
    meter_category: str | None = None
    effective_from: date = date.min
    basis: Basis = Basis.COST
    billing: str | None = None
    version: Versioned = Versioned()
    seq: int = 0

    def matches(self, tenant: str, customer: str, product: str | None, meter_category: str | None, on: date) -> bool:
        wanted = (tenant, customer, product, meter_category)
        scope = (self.tenant, self.customer, self.product, self.meter_category)
        return (self.effective_from <= on and self.version.covers(on)
                and all(s is None or s == w for s, w in zip(scope, wanted, strict=True)))

    @property
    def priority(self) -> tuple[tuple[bool, bool, bool, bool], int, date, int, str]:
        """Most specific first, then the newest edition (a later import replaces an earlier one for the days it
        covers), then the latest start, then the ledger id and name, so the choice never depends on input order."""
        start = max(self.effective_from, self.version.valid_from or date.min)
        return specificity(self), self.version.edition, start, self.seq, self.rule_id


@dataclass(frozen=True, slots=True)
class Markups:
    """The reseller's markup rules; :meth:`resolve` picks the one that applies (or ``None``: sell at cost)."""

    rules: tuple[MarkupRule, ...] = field(default=())

    def in_force(self, tenant: str, on: date) -> list[MarkupRule]:
        """Rules that can apply to ``tenant`` on day ``on``, highest :attr:`MarkupRule.priority` first: the first
        one whose customer/product/meter-category scope matches is the one that applies."""
        rules = [rule for rule in self.rules
                 if rule.tenant in (None, tenant) and rule.effective_from <= on and rule.version.covers(on)]
        return sorted(rules, key=lambda rule: rule.priority, reverse=True)

    def resolve(self, tenant: str, customer: str, product: str | None, meter_category: str | None,
                on: date) -> MarkupRule | None:
        """The rule that applies to one line (``None``: no markup)."""
        for rule in self.in_force(tenant, on):
            if rule.matches(tenant, customer, product, meter_category, on):
                return rule
        return None

    def known_at(self, edition: int | None) -> Markups:
        """The rules of one edition of the price book that price by cost (usage has no list price)."""
        return Markups(tuple(rule for rule in self.rules if rule.version.known(edition) and rule.basis is Basis.COST))


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
    """A row of Microsoft's licence price list: the partner (``unit_price``) and estimated retail (``erp_price``)
    price per unit per billing period of ``product`` (``ProductId:SkuId``) for one term, billing plan and currency."""

    row_id: int
    product: str
    term: str  # P1M, P1Y, P3Y
    billing: str  # P1M monthly, P1Y annual, P3Y triennial
    currency: str
    unit_price: Decimal
    erp_price: Decimal | None
    version: Versioned = Versioned()

    def basis(self, basis: Basis) -> Decimal | None:
        return self.unit_price if basis is Basis.LIST else self.erp_price


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """A fixed sell price per unit per billing period; ``None`` scope fields match anything, ``currency`` ``None``
    means the licence's own. A rule for a meter category never prices a licence."""

    rule_id: str
    unit_price: Decimal
    tenant: str | None = None
    customer: str | None = None  # name, ERP reference or id
    product: str | None = None
    meter_category: str | None = None
    billing: str | None = None
    currency: str | None = None
    version: Versioned = Versioned()
    seq: int = 0

    @property
    def priority(self) -> tuple[tuple[bool, bool, bool, bool], int, date, int, str]:
        """As :attr:`MarkupRule.priority`."""
        return specificity(self), self.version.edition, self.version.valid_from or date.min, self.seq, self.rule_id


@dataclass(frozen=True, slots=True)
class VendorCost:
    """A unit price the vendor charged for a subscription's product (a cost line), from ``charge_start``."""

    line_id: int
    subscription_id: int
    product: str
    unit_price: Decimal
    charge_start: date
    charge_end: date | None = None  # inclusive; None when the source does not say

    @property
    def whole_cycles(self) -> bool:
        """Does the charge cover whole billing months (a cycle charge, a purchase, a renewal)? A seat added mid-cycle
        is charged for the rest of the cycle at a unit price already prorated to that stretch (Partner Center's
        ``addQuantity`` 2026-10-02..2026-10-10 at 9.96 of a 33.20 month), which is no price per billing period."""
        if self.charge_end is None:
            return True
        following = self.charge_end + timedelta(days=1)
        if following.day == self.charge_start.day:
            return True
        return following.day < self.charge_start.day and following == month_end(following)


@dataclass(frozen=True, slots=True)
class Price:
    unit_price: Decimal
    label: str  # goes into lineage as the price version


@dataclass(frozen=True, slots=True)
class Licence:
    """What is being priced: the product (and its catalogue keys, e.g. ``ProductId:SkuId``), term, billing period
    and currency of a licence, for one customer."""

    product: str
    customer: PricedCustomer
    billing: str
    currency: str
    term: str | None = None
    keys: tuple[str, ...] = ()

    def named(self, product: str | None) -> bool:
        return product is None or product == self.product or product in self.keys


def _decimal(value: Fraction) -> Decimal:
    """An exact quotient of two decimals (a price times a percentage terminates)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def marked_up(basis: Decimal, rule: MarkupRule) -> Decimal:
    """``basis`` with ``rule``'s markup, exact (a price book remembers its answers: ``PriceBook._marked_up``)."""
    return _decimal(apply_markup(Fraction(basis), rule))


class PriceBook:
    """One tenant's price rules, Microsoft list prices and vendor costs, resolved in memory for a whole build.

    A licence is priced by the highest-priority rule whose scope matches and whose basis exists on the day: a fixed
    price, or a percentage on the vendor cost or on Microsoft's list or ERP price (equal specificity: fixed first).
    No rule at all sells at cost. ``edition`` reads the book as it stood at that import (``None``: the latest).
    """

    def __init__(self, tenant: str, *, fixed: Iterable[FixedPrice] = (), markups: Markups = Markups(),
                 list_prices: Iterable[ListPrice] = (), costs: Iterable[VendorCost] = ()) -> None:
        self._tenant = tenant
        self._costs: dict[int, list[VendorCost]] = defaultdict(list)
        for cost in costs:
            if cost.unit_price > 0:
                self._costs[cost.subscription_id].append(cost)
        self._lists: dict[str, list[ListPrice]] = defaultdict(list)
        for row in list_prices:
            self._lists[row.product].append(row)
        self._fixed = [rule for rule in fixed if rule.tenant in (None, tenant) and rule.meter_category is None]
        self.markups = markups
        self._rules = sorted([*self._fixed, *(r for r in markups.rules if r.tenant in (None, tenant))],
                             key=lambda rule: (rule.priority[0], isinstance(rule, FixedPrice), *rule.priority[1:]),
                             reverse=True)
        self._version_days: dict[tuple[str, tuple[str, ...]], frozenset[date]] = {}
        self._named: dict[tuple[str, tuple[str, ...]], list[FixedPrice | MarkupRule]] = {}
        self._choices: dict[tuple[object, ...], Price | MarkupRule | None] = {}
        self._for_customers: dict[tuple[str, tuple[str, ...]], bool] = {}  # a rule naming the product is for one
        self._marked: dict[tuple[Decimal, int], Decimal] = {}  # marked-up prices, by basis and rule (``_marked_up``)

    def _marked_up(self, basis: Decimal, rule: MarkupRule) -> Decimal:
        """:func:`marked_up`, remembered per basis and rule: a month-end build prices every licence, a million at the
        largest hosts, at few distinct costs and rules, and the exact arithmetic in fractions is most of a price's
        cost. The rule is one of this book's, so its identity names it for as long as the book lives (its hash and
        equality would compare every field, on every licence). Equal bases give equal fractions, so a remembered
        answer is the one a fresh computation gives."""
        key = (basis, id(rule))
        found = self._marked.get(key)
        if found is None:
            found = self._marked[key] = marked_up(basis, rule)
        return found

    def _rules_naming(self, licence: Licence) -> list[FixedPrice | MarkupRule]:
        """The rules that may price ``licence`` (every product, or its product or catalogue keys), in priority order.
        Worked out once per product: a build prices every licence, and a book with rules for many products would
        otherwise test each rule against each licence."""
        named = (licence.product, licence.keys)
        rules = self._named.get(named)
        if rules is None:
            rules = self._named[named] = [rule for rule in self._rules if licence.named(rule.product)]
        return rules

    def version_days(self, licence: Licence) -> frozenset[date]:
        """Days on which a rule or list price that may price ``licence`` starts or ends (price changes to look at).
        They depend on the product and its catalogue keys only, so each product's are worked out once per book (a
        build asks for every licence)."""
        named = (licence.product, licence.keys)
        days = self._version_days.get(named)
        if days is None:
            days = self._version_days[named] = self._product_version_days(licence)
        return days

    def _product_version_days(self, licence: Licence) -> frozenset[date]:
        versions = [rule.version for rule in self._rules_naming(licence)]
        versions += [row.version for key in (licence.product, *licence.keys) for row in self._lists.get(key, ())]
        days = {version.valid_from for version in versions if version.valid_from is not None}
        days |= {version.valid_to + timedelta(days=1) for version in versions if version.valid_to is not None}
        return frozenset(days | {rule.effective_from for rule in self.markups.rules
                                 if rule.effective_from != date.min and licence.named(rule.product)})

    def list_price(self, licence: Licence, day: date, edition: int | None) -> ListPrice | None:
        """Microsoft's price-list row for the licence on ``day``: same term, billing and currency; of overlapping
        rows the one that starts last wins (as Microsoft says to read its file), then the newest edition."""
        found: ListPrice | None = None
        for key in (licence.product, *licence.keys):
            for row in self._lists.get(key, ()):
                if (row.billing, row.currency) != (licence.billing, licence.currency) or not row.version.covers(day):
                    continue
                if (licence.term is not None and row.term != licence.term) or not row.version.known(edition):
                    continue
                rank = (row.version.valid_from or date.min, row.version.edition, row.row_id)
                if found is None or rank > (found.version.valid_from or date.min, found.version.edition, found.row_id):
                    found = row
        return found

    def vendor_cost(self, subscription_id: int, product: str, day: date) -> tuple[Decimal, str] | None:
        """The unit price the vendor charged for the subscription's product (latest cost line charged on or before
        ``day``, else the first one; lines that charge whole billing months first, since a mid-cycle line's unit price
        is prorated): the cost basis when snapshots carry none (Partner Center licences)."""
        costs = [cost for cost in self._costs.get(subscription_id, ()) if cost.product == product]
        costs = costs or self._costs.get(subscription_id, [])
        if not costs:
            return None
        whole = [cost for cost in costs if cost.whole_cycles]
        costs = whole or costs
        earlier = [cost for cost in costs if cost.charge_start <= day]
        cost = earlier[-1] if earlier else costs[0]
        return cost.unit_price, f"cost line {cost.line_id}"

    @staticmethod
    def _applies(rule: FixedPrice | MarkupRule, licence: Licence, names: set[str | None], day: date,
                 edition: int | None) -> bool:
        """Whether ``rule``, one of :meth:`_rules_naming` (its product is the licence's), prices it on ``day``."""
        return (rule.version.known(edition) and rule.version.covers(day)
                and (rule.customer is None or rule.customer in names) and rule.billing in (None, licence.billing)
                and (not isinstance(rule, MarkupRule) or (rule.meter_category is None and rule.effective_from <= day)))

    def licence_price(self, licence: Licence, day: date, unit_cost: Decimal | None, cost_source: str = "snapshot",
                      edition: int | None = None) -> Price | None:
        """The sell price per unit per billing period on ``day``; ``None`` when nothing prices it."""
        chosen = self._chosen(licence, day, edition, unit_cost is not None)
        if isinstance(chosen, Price):
            return chosen
        if chosen is not None:
            return Price(self._marked_up(cast(Decimal, unit_cost), chosen),
                         f"cost {unit_cost} ({cost_source}) + {chosen.percent}% ({chosen.rule_id})")
        if unit_cost is None:
            return None
        return Price(unit_cost, f"cost {unit_cost} ({cost_source}), no markup rule")

    def _chosen(self, licence: Licence, day: date, edition: int | None, costed: bool) -> Price | MarkupRule | None:
        """What prices ``licence`` on ``day``: a fixed or list-based price, the markup rule on its vendor cost (when it
        has one: ``costed``), or nothing (sold at cost). Remembered per licence terms, day and edition, and per
        customer only where a rule for the product names one: a build prices a million licences of few products on
        few days, and the rule walk was most of a price's cost."""
        named = (licence.product, licence.keys)
        for_customers = self._for_customers.get(named)
        if for_customers is None:
            for_customers = self._for_customers[named] = any(rule.customer is not None
                                                             for rule in self._rules_naming(licence))
        key = (named, licence.billing, licence.currency, licence.term, licence.customer if for_customers else None,
               day, edition, costed)
        known = self._choices.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return cast(Price | MarkupRule | None, known)
        customer = licence.customer
        names = {customer.name, customer.reference, str(customer.id)}
        found: Price | MarkupRule | None = None
        for rule in self._rules_naming(licence):
            if not self._applies(rule, licence, names, day, edition):
                continue
            if isinstance(rule, FixedPrice):
                if rule.currency in (None, licence.currency):
                    found = Price(rule.unit_price, f"{rule.rule_id} fixed {rule.unit_price}")
                    break
                continue
            if rule.basis is Basis.COST:
                if not costed:
                    continue
                found = rule
                break
            row = self.list_price(licence, day, edition)
            basis = row.basis(rule.basis) if row is not None else None
            if row is None or basis is None:
                continue
            label = f"{rule.basis.value} price {basis} (list price {row.row_id}) + {rule.percent}% ({rule.rule_id})"
            found = Price(self._marked_up(basis, rule), label)
            break
        self._choices[key] = found
        return found

