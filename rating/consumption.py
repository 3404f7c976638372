"""Azure usage rows → priced, marked-up lines grouped by customer, subscription, resource group, tag or meter, for
billing in arrears.

Exactness: costs arrive with up to 8 decimals (Cost Management does not round), so a row's cost is an integer count
of 10⁻⁸ units (``cost_units``, int64; build it with :func:`rating.money.to_units`). Rows are summed as integers per
group and pricing key (markup rule and exchange rate); markup and FX are then applied to those exact sums as
fractions (both are linear, so this equals pricing every row), and each group is rounded once. A group's amount is
therefore exactly the rounded sum of its rows' unrounded prices: nothing is lost to float64 or to per-row rounding.

Two steps, so usage that does not fit in memory is priced the same way: the grouping step
(``rating.usage_frames.sum_usage`` for a DataFrame; a store adapter may push the same integer sums down to a query
engine) yields exact sums per group, markup rule and currency; the pricing step (:func:`price_sums`) is shared and
applies markup, FX and rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np

from rating.fx import FxTable
from rating.lineage import Lineage, format_ratio
from rating.money import Money
from rating.pricing import MarkupRule, apply_markup
from rating.rounding import RoundingPolicy, round_amount

COST_DECIMALS = 8
GROUP_COLUMNS = ("customer", "subscription", "resource_group", "meter", "meter_category")
UNIT = 10**COST_DECIMALS


@dataclass(frozen=True)
class UsageLine:
    """One grouped, priced usage line: the group's key values, its rows, its exact and rounded amounts."""

    group: tuple[tuple[str, object], ...]
    rows: int
    unrounded: Fraction
    amount: Money
    lineage: Lineage

    @property
    def key(self) -> tuple[object, ...]:
        """Deterministic identity inside a batch: ``("usage", value, value, …)`` in ``group_by`` order."""
        return ("usage", *(value for _, value in self.group))


@dataclass(frozen=True)
class UsageSum:
    """The grouping step's result: the exact sum of one group's rows that share one pricing key (markup rule and
    source currency). ``rule`` is 0 for no markup, else 1 + the rule's index in ``Markups.in_force``; ``input_ids``
    name what was summed (usage-row ids, or the files a store read)."""

    group: tuple[object, ...]
    rule: int
    currency: str
    cost_units: int
    rows: int
    input_ids: Sequence[object]


SCOPE_COLUMNS = ("customer", "meter", "meter_category")  # the usage columns a markup rule can be scoped by


def rule_scope(rule: MarkupRule) -> list[tuple[str, str]]:
    """The (usage column, value) pairs a row must match for ``rule`` to apply to it (none: every row matches)."""
    scope = tuple(zip(SCOPE_COLUMNS, (rule.customer, rule.product, rule.meter_category), strict=True))
    return [(column, value) for column, value in scope if value is not None]


def check_group_by(group_by: Sequence[str]) -> None:
    """Usage groups by :data:`GROUP_COLUMNS` and tag columns ``tag_<name>`` only."""
    unknown = [column for column in group_by if column not in GROUP_COLUMNS and not column.startswith("tag_")]
    if unknown:
        raise ValueError(f"cannot group usage by {', '.join(unknown)} (use {', '.join(GROUP_COLUMNS)} or tag_<name>)")


def price_sums(
    sums: Sequence[UsageSum],
    *,
    rules: Sequence[MarkupRule],
    tenant: str,
    currency: str,
    group_by: Sequence[str],
    fx: FxTable,
    on: date,
    rounding: RoundingPolicy,
) -> list[UsageLine]:
    """The pricing step, shared by every grouping: each sum at cost × (1 + markup of its rule) × FX of its currency
    into ``currency``, added exactly per group and rounded once per line. ``sums`` come as the grouping step
    orders them (a group's sums next to each other); a line's lineage lists its sums' input ids in that order."""
    rates = {source: fx.rate(source, currency, on) for source in sorted({item.currency for item in sums})}
    pricing: dict[tuple[int, str], tuple[int, int, str]] = {}  # (rule, currency) -> unit price n, d and its text
    for rule_code in range(len(rules) + 1):
        rule = rules[rule_code - 1] if rule_code else None
        markup = f"(1 + {rule.percent}% {rule.rule_id})" if rule else "1"
        for source, rate in rates.items():  # both factors are linear: price one unit once per pricing key
            unit = rate.convert(apply_markup(Fraction(1), rule))
            how = f"{rate.base} × {markup} × {rate.text}"
            pricing[rule_code, source] = unit.numerator, unit.denominator * UNIT, how
    lines: list[UsageLine] = []
    position = 0
    while position < len(sums):
        group = sums[position].group
        members = []
        while position < len(sums) and sums[position].group == group:
            members.append(sums[position])
            position += 1
        value = Fraction(0)
        terms: list[str] = []
        for item in members:  # cost units × unit price as one ratio: a single reduction per sum
            numerator, denominator, how = pricing[item.rule, item.currency]
            value += Fraction(item.cost_units * numerator, denominator)
            terms.append(f"{format_ratio(item.cost_units, UNIT)} {how}")
        rows = sum(item.rows for item in members)
        named = [item.input_ids for item in members if len(item.input_ids)]
        input_ids = named[0] if len(named) == 1 else np.concatenate(named) if named else ()
        lines.append(UsageLine(
            group=tuple(zip(group_by, group, strict=True)),
            rows=rows,
            unrounded=value,
            amount=round_amount(value, currency, rounding),
            lineage=Lineage(
                input_ids=input_ids,
                price_version=None,
                convention=None,
                formula=" + ".join(terms),
                unrounded=value,
                rounding=rounding.value,
                details={"rows": str(rows), "tenant": tenant, "on": on.isoformat()},
            ),
        ))
    return lines
