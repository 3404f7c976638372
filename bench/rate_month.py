"""Benchmark: rate one month of a large licence book with the vectorised path (``rating.bulk.rate_month``).

1,400,000 subscriptions (monthly, annual and triennial billing, month-end anchors included) and 100,000 seat
changes inside the month. Goal: ≤ 60 s and ≤ 4 GB on 2 cores. ``BENCH_SCALE=0.01`` runs 1 %.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bench.common import measure, scaled
from rating.bulk import rate_month
from rating.periods import Convention
from rating.rounding import RoundingPolicy

WINDOW = (date(2026, 5, 1), date(2026, 5, 31))


def book(subscriptions: int, changes: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random book: anchors over the two years before the window, 4-decimal prices, changes in the window."""
    rng = np.random.default_rng(seed)
    first = np.datetime64("2024-05-01")
    anchor = first + rng.integers(0, 730, subscriptions).astype("timedelta64[D]")
    subs = pd.DataFrame({
        "subscription": pd.Series(np.arange(subscriptions)).map("sub-{:07d}".format),
        "start": anchor,
        "anchor": pd.Series(pd.NaT, index=range(subscriptions), dtype="datetime64[ns]"),
        "billing_months": rng.choice(np.array([1, 12, 36]), subscriptions, p=[0.8, 0.17, 0.03]),
        "quantity": rng.integers(1, 300, subscriptions),
        "price_units": rng.integers(10_000, 5_000_000, subscriptions),
    })
    who = np.sort(rng.choice(subscriptions, changes, replace=False))
    day = np.datetime64(WINDOW[0]) + rng.integers(0, 31, changes).astype("timedelta64[D]")
    cancel = rng.random(changes) < 0.02
    moves = pd.DataFrame({
        "subscription": subs["subscription"].to_numpy()[who],
        "effective": np.maximum(day, subs["start"].to_numpy()[who]),
        "quantity": pd.array(np.where(cancel, 0, rng.integers(1, 300, changes)), dtype="Int64"),
        "price_units": pd.array([None] * changes, dtype="Int64"),
        "cancel": cancel,
    })
    moves.loc[cancel, "quantity"] = pd.NA
    return subs, moves


def main() -> None:
    count, moves = scaled(1_400_000), scaled(100_000)
    subs, changes = book(count, moves)
    with measure("rate_month", count, changes=moves):
        lines = rate_month(subs, changes, *WINDOW, Convention.MICROSOFT, RoundingPolicy.HALF_UP, "EUR", 4)
    print(f"lines={len(lines)} total_minor={int(lines['amount_minor'].sum())}", flush=True)


if __name__ == "__main__":
    main()
