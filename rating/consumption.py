"""Azure usage rows (a pandas DataFrame) → priced, marked-up lines grouped by customer, subscription, resource
group, tag or meter, for billing in arrears.

Exactness: costs arrive with up to 8 decimals (Cost Management does not round), so a row's cost is an integer count
of 10⁻⁸ units (``cost_units``, int64; build it with :func:`rating.money.to_units`). Rows are summed as integers per
group and pricing key (markup rule and exchange rate); markup and FX are then applied to those exact sums as
fractions (both are linear, so this equals pricing every row), and each group is rounded once. A group's amount is
therefore exactly the rounded sum of its rows' unrounded prices: nothing is lost to float64 or to per-row rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd

from rating.fx import FxTable
from rating.lineage import Lineage, format_unrounded
from rating.money import Money
from rating.pricing import MarkupRule, Markups, apply_markup
from rating.rounding import RoundingPolicy, round_amount

COST_DECIMALS = 8
REQUIRED_COLUMNS = ("row_id", "customer", "meter", "meter_category", "currency", "cost_units")
GROUP_COLUMNS = ("customer", "subscription", "resource_group", "meter", "meter_category")
_PRICING_COLUMNS = ["customer", "meter", "meter_category", "currency"]
_UNIT = 10**COST_DECIMALS


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


def _codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[tuple[object, ...]]]:
    """Group code per row (in sorted key order, missing values kept as their own group) and the key of each code."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64), [()]
    grouped = frame.groupby(list(columns), sort=True, observed=True, dropna=False)
    keys = grouped.size().index.to_frame(index=False)
    values = [tuple(None if pd.isna(value) else value for value in row)
              for row in keys.itertuples(index=False, name=None)]
    return grouped.ngroup().to_numpy(np.int64), values


def _rule_per_row(usage: pd.DataFrame, markups: Markups, tenant: str, on: date) -> tuple[list[MarkupRule], np.ndarray]:
    """Per row, 1 + the index of the markup rule that applies (0: none), as :meth:`Markups.resolve` would choose,
    computed rule by rule on whole columns (rules are few, rows many)."""
    rules = markups.in_force(tenant, on)
    code = np.zeros(len(usage), dtype=np.int64)
    for position, rule in enumerate(rules, start=1):
        open_rows = code == 0
        for column, value in (("customer", rule.customer), ("meter", rule.product),
                              ("meter_category", rule.meter_category)):
            if value is not None:
                open_rows &= (usage[column] == value).to_numpy(bool)
        code[open_rows] = position
    return rules, code


def _check(usage: pd.DataFrame, group_by: Sequence[str]) -> None:
    unknown = [column for column in group_by if column not in GROUP_COLUMNS and not column.startswith("tag_")]
    if unknown:
        raise ValueError(f"cannot group usage by {', '.join(unknown)} (use {', '.join(GROUP_COLUMNS)} or tag_<name>)")
    missing = [column for column in (*REQUIRED_COLUMNS, *group_by) if column not in usage.columns]
    if missing:
        raise ValueError(f"usage rows lack column(s) {', '.join(missing)}")
    if usage["currency"].isna().any():
        raise ValueError("usage rows without a currency")
    if usage["cost_units"].dtype != np.int64:
        raise ValueError("cost_units must be int64 counts of 1e-8 currency units (see rating.money.to_units)")


def rate_usage(
    usage: pd.DataFrame,
    *,
    tenant: str,
    currency: str,
    group_by: Sequence[str],
    markups: Markups,
    fx: FxTable,
    on: date,
    rounding: RoundingPolicy,
) -> list[UsageLine]:
    """Price every usage row at cost × (1 + markup) × FX into ``currency`` and return one line per group.

    ``usage`` needs :data:`REQUIRED_COLUMNS` plus the ``group_by`` columns (any of :data:`GROUP_COLUMNS` or a tag
    column ``tag_<name>``, e.g. ``tag_environment``; rows without the tag form their own group). Markup rules are
    resolved per (tenant, customer, meter as product, meter category) and FX per source currency, both for day
    ``on``. Lines come in sorted group order; lineage lists the usage-row ids of each line.
    """
    _check(usage, group_by)
    if usage.empty:
        return []
    rules, rule_code = _rule_per_row(usage, markups, tenant, on)
    currency_code, currencies = pd.factorize(usage["currency"], sort=True)
    rates = [fx.rate(str(source), currency, on) for source in currencies]
    pricing = [(rule, rate) for rule in [None, *rules] for rate in rates]
    pricing_code = rule_code * len(rates) + currency_code
    group_code, group_keys = _codes(usage, group_by)
    fine = group_code * len(pricing) + pricing_code
    order = np.argsort(fine, kind="stable")
    fine = fine[order]
    starts = np.flatnonzero(np.r_[True, fine[1:] != fine[:-1]])
    whole, part = np.divmod(usage["cost_units"].to_numpy(np.int64)[order], _UNIT)
    whole_sums, part_sums = np.add.reduceat(whole, starts), np.add.reduceat(part, starts)
    ends = np.r_[starts[1:], len(fine)]
    row_ids = usage["row_id"].to_numpy()[order]

    lines: list[UsageLine] = []
    position = 0
    while position < len(starts):
        group = int(fine[starts[position]]) // len(pricing)
        first_row = int(starts[position])
        value = Fraction(0)
        terms: list[str] = []
        while position < len(starts) and int(fine[starts[position]]) // len(pricing) == group:
            rule, rate = pricing[int(fine[starts[position]]) % len(pricing)]
            cost = Fraction(int(whole_sums[position]) * _UNIT + int(part_sums[position]), _UNIT)
            value += rate.convert(apply_markup(cost, rule))
            markup = f"(1 + {rule.percent}% {rule.rule_id})" if rule else "1"
            terms.append(f"{format_unrounded(cost)} {rate.base} × {markup} × {rate.text}")
            position += 1
        last_row = int(ends[position - 1])
        formula = " + ".join(terms)
        lines.append(UsageLine(
            group=tuple(zip(group_by, group_keys[group], strict=True)),
            rows=last_row - first_row,
            unrounded=value,
            amount=round_amount(value, currency, rounding),
            lineage=Lineage(
                input_ids=row_ids[first_row:last_row],
                price_version=None,
                convention=None,
                formula=formula,
                unrounded=value,
                rounding=rounding.value,
                details={"rows": str(last_row - first_row), "tenant": tenant, "on": on.isoformat()},
            ),
        ))
    return lines
