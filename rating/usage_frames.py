"""The in-memory grouping step of usage rating: Azure usage rows as a pandas DataFrame summed exactly per group,
markup rule and currency, then priced by the shared step (``rating.consumption.price_sums``).

Why apart from ``rating.consumption``: only rating a month's usage needs pandas (a third of a second to import);
the types and the pricing step serve the Parquet store and every command that merely names a usage line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from rating.consumption import UNIT, UsageLine, UsageSum, check_group_by, price_sums, rule_scope
from rating.fx import FxTable
from rating.pricing import MarkupRule, Markups
from rating.rounding import RoundingPolicy

REQUIRED_COLUMNS = ("row_id", "customer", "meter", "meter_category", "currency", "cost_units")


def _codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[tuple[object, ...]]]:
    """Group code per row (in sorted key order, missing values kept as their own group) and the key of each code."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64), [()]
    grouped = frame.groupby(list(columns), sort=True, observed=True, dropna=False)
    keys = grouped.size().index.to_frame(index=False)
    values = [tuple(None if pd.isna(value) else value for value in row)
              for row in keys.itertuples(index=False, name=None)]
    return grouped.ngroup().to_numpy(np.int64), values


def _rule_per_row(usage: pd.DataFrame, rules: Sequence[MarkupRule]) -> np.ndarray:
    """Per row, 1 + the index of the first of ``rules`` whose scope it matches (0: none), as
    :meth:`Markups.resolve` would choose, computed rule by rule on whole columns (rules are few, rows many)."""
    code = np.zeros(len(usage), dtype=np.int64)
    for position, rule in enumerate(rules, start=1):
        open_rows = code == 0
        for column, value in rule_scope(rule):
            open_rows &= (usage[column] == value).to_numpy(bool)
        code[open_rows] = position
    return code


def _check(usage: pd.DataFrame, group_by: Sequence[str]) -> None:
    missing = [column for column in (*REQUIRED_COLUMNS, *group_by) if column not in usage.columns]
    if missing:
        raise ValueError(f"usage rows lack column(s) {', '.join(missing)}")
    if usage["currency"].isna().any():
        raise ValueError("usage rows without a currency")
    if usage["cost_units"].dtype != np.int64:
        raise ValueError("cost_units must be int64 counts of 1e-8 currency units (see rating.money.to_units)")


def sum_usage(usage: pd.DataFrame, rules: Sequence[MarkupRule], group_by: Sequence[str]) -> list[UsageSum]:
    """The grouping step in memory: exact integer sums per group, markup rule (of ``rules``) and source currency,
    in sorted group order (missing values last), then rule, then currency; each names its rows' ids."""
    if usage.empty:
        return []
    rule_code = _rule_per_row(usage, rules)
    currency_code, currencies = pd.factorize(usage["currency"], sort=True)
    pricing_code = rule_code * len(currencies) + currency_code
    group_code, group_keys = _codes(usage, group_by)
    width = (len(rules) + 1) * len(currencies)
    fine = group_code * width + pricing_code
    order = np.argsort(fine, kind="stable")
    fine = fine[order]
    starts = np.flatnonzero(np.r_[True, fine[1:] != fine[:-1]])
    ends = np.r_[starts[1:], len(fine)]
    whole, part = np.divmod(usage["cost_units"].to_numpy(np.int64)[order], UNIT)
    whole_sums, part_sums = np.add.reduceat(whole, starts), np.add.reduceat(part, starts)
    row_ids = usage["row_id"].to_numpy()[order]
    sums = []
    for position, (first, last) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        group, pricing = divmod(int(fine[first]), width)
        rule, source = divmod(pricing, len(currencies))
        sums.append(UsageSum(group=group_keys[group], rule=rule, currency=str(currencies[source]),
                             cost_units=int(whole_sums[position]) * UNIT + int(part_sums[position]),
                             rows=last - first, input_ids=row_ids[first:last]))
    return sums


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
    check_group_by(group_by)
    _check(usage, group_by)
    rules = markups.in_force(tenant, on)
    return price_sums(sum_usage(usage, rules, group_by), rules=rules, tenant=tenant, currency=currency,
                      group_by=group_by, fx=fx, on=on, rounding=rounding)
