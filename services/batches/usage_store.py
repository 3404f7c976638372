"""Usage rated from the Parquet usage store: the grouping runs in DuckDB over the files (``ledger.usage_sums``), the
pricing is the one ``rating.consumption`` applies to usage in memory, so both stores give the same lines.

Why here: the batch build (:func:`store_usage_lines`, the store's counterpart of
``services.batches.usage.usage_lines``) and the benchmark call :func:`rate_usage_files`; it chooses nothing, it only
joins the store's grouping to the shared pricing step for one tenant and day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from ledger.models import Customer
from ledger.usage_sums import DEFAULT_MEMORY_LIMIT, group_details, sum_files
from rating.consumption import COST_DECIMALS, UsageLine, price_sums
from rating.months import month_end, month_of
from rating.pricing import FxTable, Markups
from rating.rounding import RoundingPolicy
from services.batches.lines import DesiredLine
from services.batches.timeline import Pricing
from services.batches.usage import GROUP_BY, Described, desired_line
from services.prices.book import priced

DESCRIBED = ("meter_name", "meter_category", "subscription_id", "subscription_external_id", "tags")


def rate_usage_files(
    root: Path,
    files: Sequence[str],
    *,
    tenant: str,
    currency: str,
    group_by: Sequence[str],
    markups: Markups,
    fx: FxTable,
    on: date,
    rounding: RoundingPolicy,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> list[UsageLine]:
    """Price the usage rows of ``files`` (relative to ``root``) as ``rating.consumption.rate_usage`` prices a
    DataFrame of the same rows: one line per group, in sorted group order; lineage names the files read."""
    rules = markups.in_force(tenant, on)
    sums = sum_files(root, files, rules, group_by, memory_limit=memory_limit)
    return price_sums(sums, rules=rules, tenant=tenant, currency=currency, group_by=group_by, fx=fx, on=on,
                      rounding=rounding)


def store_usage_lines(tenant: str, root: Path, files: Mapping[dt.date, Sequence[str]],
                      customers: Mapping[int, Customer], pricing: Pricing, fx: FxTable, rounding: RoundingPolicy,
                      currency: str, problems: list[str],
                      memory_limit: str = DEFAULT_MEMORY_LIMIT) -> list[DesiredLine]:
    """Desired usage lines of the store's ``files`` per usage month (the manifest's files of that month), as
    ``services.batches.usage.usage_lines`` makes them from ledger rows: same keys, amounts, formulas and
    descriptions; lineage names the files. Rows without a customer, or in a currency without a rate, are reported
    in ``problems`` per file set and left out of the amounts."""
    keys = {str(customer.id): priced(customer).key for customer in customers.values()}
    lines = []
    for month, names in sorted(files.items()):
        on = month_end(month)
        edition, reprice = pricing.editions.at(on + dt.timedelta(days=1))
        rules = pricing.book.markups.known_at(edition).in_force(tenant, on)
        sums = []
        for item in sum_files(root, names, rules, GROUP_BY, memory_limit=memory_limit, customer_keys=keys):
            if item.group[0] is None:
                problems.append(f"usage files of {month_of(month)}: {item.rows} usage row(s) have no customer")
                continue
            try:
                fx.rate(item.currency, currency, on)
            except KeyError:
                problems.append(f"usage files of {month_of(month)} currency: no {item.currency}->{currency} rate in "
                                f"fx_rates ({item.rows} row(s))")
                continue
            sums.append(item)
        details = group_details(root, names, GROUP_BY, DESCRIBED, memory_limit=memory_limit, customer_keys=keys)
        for rated in price_sums(sums, rules=rules, tenant=tenant, currency=currency, group_by=GROUP_BY, fx=fx, on=on,
                                rounding=rounding):
            group = tuple(value for _, value in rated.group)
            about = details[group]
            cost = sum((item.cost_units for item in sums if item.group == group), 0)
            line = desired_line(tenant, month, rated, Described(
                str(about["meter_name"]), str(about["meter_category"]), _optional_int(about["subscription_id"]),
                str(about["subscription_external_id"]), json.loads(str(about["tags"] or "{}")),
                Decimal(str(about["quantity"])), Decimal(cost).scaleb(-COST_DECIMALS).normalize()))
            if reprice is not None:
                line.lineage["reprice"] = reprice.describe()
            lines.append(line)
    return lines


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
