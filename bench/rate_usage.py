"""Benchmark: price and group one month of Azure usage (``rating.usage_frames.rate_usage``).

10,000,000 usage rows (8-decimal costs as integer 1e-8 units, two source currencies), markup rules per tenant,
customer and meter category, grouped by customer and ``environment`` tag. Goal: ≤ 30 s and ≤ 2 GB.
``BENCH_SCALE=0.01`` runs 1 %.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from bench.common import measure, scaled
from rating.pricing import FxRate, FxTable, MarkupRule, Markups
from rating.rounding import RoundingPolicy
from rating.usage_frames import rate_usage

CATEGORIES = ["Virtual Machines", "Storage", "Bandwidth", "SQL Database", "Azure App Service", "Log Analytics"]
ENVIRONMENTS = ["prod", "test", "dev", None]


def usage_rows(count: int, customers: int = 5_000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, customers, count)
    names = pd.Categorical.from_codes(customer, [f"cust-{n:05d}" for n in range(customers)])
    return pd.DataFrame({
        "row_id": np.arange(count, dtype=np.int64),
        "customer": names,
        "subscription": pd.Categorical.from_codes(customer * 3 % (customers * 3) + rng.integers(0, 3, count),
                                                  [f"azsub-{n:06d}" for n in range(customers * 3)]),
        "meter": pd.Categorical.from_codes(rng.integers(0, 400, count), [f"meter-{n:03d}" for n in range(400)]),
        "meter_category": pd.Categorical.from_codes(rng.integers(0, len(CATEGORIES), count), CATEGORIES),
        "currency": pd.Categorical.from_codes((customer % 10 == 0).astype(np.int8), ["EUR", "USD"]),
        "cost_units": rng.integers(0, 5_000_000_000, count, dtype=np.int64),
        "tag_environment": pd.Categorical.from_codes(rng.integers(-1, 3, count), ENVIRONMENTS[:3]),
    })


MARKUPS = Markups((
    MarkupRule("tenant-default", Decimal("12.5"), tenant="de01"),
    MarkupRule("vm", Decimal("8"), tenant="de01", meter_category="Virtual Machines"),
    MarkupRule("cust-7-deal", Decimal("5"), customer="cust-00007"),
    MarkupRule("storage-2026", Decimal("15.75"), meter_category="Storage", effective_from=date(2026, 1, 1)),
))
FX = FxTable([FxRate("microsoft-monthly", "USD", "EUR", Decimal("0.921734"), date(2026, 5, 1))])


def main() -> None:
    count = scaled(10_000_000)
    usage = usage_rows(count)
    with measure("rate_usage", count):
        lines = rate_usage(usage, tenant="de01", currency="EUR", group_by=["customer", "tag_environment"],
                           markups=MARKUPS, fx=FX, on=date(2026, 5, 31), rounding=RoundingPolicy.HALF_UP)
    print(f"lines={len(lines)} total={sum(line.amount.amount for line in lines)}", flush=True)


if __name__ == "__main__":
    main()
