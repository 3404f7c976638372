"""Usage rated from the Parquet usage store: the grouping runs in DuckDB over the files (``ledger.usage_sums``), the
pricing is the one ``rating.consumption`` applies to usage in memory, so both stores give the same lines.

Why here: the batch build and the benchmark call this one function; it chooses nothing, it only joins the store's
grouping to the shared pricing step for one tenant and day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from ledger.usage_sums import DEFAULT_MEMORY_LIMIT, sum_files
from rating.consumption import UsageLine, price_sums
from rating.pricing import FxTable, Markups
from rating.rounding import RoundingPolicy


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
