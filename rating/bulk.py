"""Vectorised seat rating for a month-end batch: the rules of :func:`rating.proration.rate_subscription` on whole
columns (numpy, integer minor units), for the million-subscription month where a Python loop per line is too slow.

Same rules, checked against the scalar engine on random inputs: boundaries from the anchor with month-end clipping,
partial first periods, the three conventions, same-day changes composed and no-op days dropped, a change on a
charge period's first day applied before charging, credits capped by the credited line, zero-seat lines skipped,
renewal on the same anchor. Scope: quantity, price and cancel changes with the ``prorated`` price policy; product
switches are price-and-quantity changes here (the label stays with the caller). Amounts never touch float: prices
are integer units of ``10**-price_decimals`` and products of integers fall back to Python ints when ``int64`` could
overflow. All dates are calendar days; all end dates are inclusive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rating.money import Money, minor_units
from rating.periods import Convention
from rating.rounding import RoundingPolicy, round_ratio_array

SUBSCRIPTION_COLUMNS = ("subscription", "start", "anchor", "billing_months", "quantity", "price_units")
CHANGE_COLUMNS = ("subscription", "effective", "quantity", "price_units", "cancel")
_EPOCH_MONTH = 1970 * 12
_SAFE = 2**62


def _days(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64)


def _month_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(month index counted from year 0, day of month) of day numbers."""
    stamps = days.astype("datetime64[D]")
    months = stamps.astype("datetime64[M]")
    return months.astype(np.int64) + _EPOCH_MONTH, (stamps - months.astype("datetime64[D]")).astype(np.int64) + 1


def _month_first(month_index: np.ndarray) -> np.ndarray:
    return (month_index - _EPOCH_MONTH).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _add_months(anchor_month: np.ndarray, anchor_day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Day numbers of ``anchor + months`` with the anchor's day clipped to the target month's length."""
    target = anchor_month + months
    first = _month_first(target)
    length = _month_first(target + 1) - first
    return first + np.minimum(anchor_day, length) - 1


class _Anchors:
    """Boundary arithmetic for one anchor and billing length per row."""

    def __init__(self, anchor: np.ndarray, billing_months: np.ndarray) -> None:
        self.month, self.day = _month_parts(anchor)
        self.billing = billing_months

    def boundary(self, index: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return _add_months(self.month[rows], self.day[rows], index * self.billing[rows])

    def containing(self, days: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Index of the billing period containing ``days`` (one step back suffices: see periods.period_containing)."""
        month, _ = _month_parts(days)
        index = (month - self.month[rows]) // self.billing[rows]
        return index - (self.boundary(index, rows) > days)


def _month_length(month_index: np.ndarray) -> np.ndarray:
    return _month_first(month_index + 1) - _month_first(month_index)


def _period_days(start: np.ndarray, end: np.ndarray, billing: np.ndarray, convention: Convention) -> np.ndarray:
    """:func:`rating.periods.period_days` per row."""
    if convention is Convention.THIRTY:
        return 30 * billing
    length = end - start + 1
    if convention is Convention.ACTUAL:
        return length
    month, _ = _month_parts(start)
    return np.where(billing == 1, np.maximum(_month_length(month), length), length)


def _thirty_index(days: np.ndarray) -> np.ndarray:
    """:func:`rating.periods.thirty_index` per row (months counted from year 0, which only shifts every index)."""
    month, day = _month_parts(days)
    slot = np.where(day == _month_length(month), 30, np.minimum(day, 30))
    return 30 * month + slot


def _stretch_days(start: np.ndarray, end: np.ndarray, convention: Convention) -> np.ndarray:
    """:func:`rating.periods.stretch_days` per row."""
    if convention is not Convention.THIRTY:
        return end - start + 1
    return _thirty_index(end) - _thirty_index(start) + 1


def _fraction(stretch_start: np.ndarray, period_start: np.ndarray, period_end: np.ndarray, billing: np.ndarray,
              convention: Convention) -> tuple[np.ndarray, np.ndarray]:
    """(days, period days) per row, a stretch starting on its period's first day counting as the whole period."""
    total = _period_days(period_start, period_end, billing, convention)
    days = np.where(stretch_start == period_start, total, _stretch_days(stretch_start, period_end, convention))
    return days, total


def _amounts(quantity: np.ndarray, price: np.ndarray, days: np.ndarray, total: np.ndarray, scale: int,
             rounding: RoundingPolicy) -> np.ndarray:
    """``round(quantity × price × days / total)`` in minor units, exactly; Python ints when int64 could overflow."""
    factors = [quantity, price, days]
    denominator = total * 10 ** max(scale, 0)
    if scale < 0:
        factors.append(np.full_like(days, 10**-scale))
    bound = 1
    for factor in factors:
        bound *= int(np.abs(factor).max(initial=0))
    if bound >= _SAFE:
        factors = [factor.astype(object) for factor in factors]
        denominator = denominator.astype(object)
    numerator = factors[0]
    for factor in factors[1:]:
        numerator = numerator * factor
    return round_ratio_array(numerator, denominator, rounding).astype(np.int64)


def _day_states(subs: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """One row per (subscription, day) on which billing changes: the composed state after the day and before it."""
    position = pd.Index(subs["subscription"]).get_indexer(changes["subscription"])
    if (position < 0).any():
        raise ValueError("a change names a subscription that is not in the subscriptions frame")
    frame = pd.DataFrame({
        "row": position,
        "day": _days(changes["effective"]),
        "quantity": changes["quantity"].astype("Int64"),
        "price": changes["price_units"].astype("Int64"),
        "cancel": changes["cancel"].fillna(False).astype(bool).to_numpy(),
    }).sort_values(["row", "day"], kind="stable", ignore_index=True)
    rows = frame["row"].to_numpy()
    grouped = frame.groupby("row", sort=False)
    quantity = grouped["quantity"].ffill().fillna(pd.Series(subs["quantity"].to_numpy()[rows])).to_numpy(np.int64)
    price = grouped["price"].ffill().fillna(pd.Series(subs["price_units"].to_numpy()[rows])).to_numpy(np.int64)
    cancelled = grouped["cancel"].cummax().to_numpy(bool)
    days = frame["day"].to_numpy()
    last_of_day = np.ones(len(frame), dtype=bool)
    last_of_day[:-1] = (rows[:-1] != rows[1:]) | (days[:-1] != days[1:])
    rows, days = rows[last_of_day], days[last_of_day]
    quantity = np.where(cancelled[last_of_day], 0, quantity[last_of_day])
    price, active = price[last_of_day], ~cancelled[last_of_day]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    before_quantity = np.where(first, subs["quantity"].to_numpy(np.int64)[rows], np.roll(quantity, 1))
    before_price = np.where(first, subs["price_units"].to_numpy(np.int64)[rows], np.roll(price, 1))
    before_active = np.where(first, True, np.roll(active, 1))
    changed = (quantity != before_quantity) | (price != before_price) | (active != before_active)
    states = pd.DataFrame({"row": rows, "day": days, "quantity": quantity, "price": price, "active": active})[changed]
    return states.reset_index(drop=True)


def _lines(sub_rows: np.ndarray, period_start: np.ndarray, kind: str, stretch_start: np.ndarray,
           stretch_end: np.ndarray, quantity: np.ndarray, price: np.ndarray, days: np.ndarray, total: np.ndarray,
           amount: np.ndarray, capped: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "row": sub_rows, "period_start": period_start, "kind": kind, "stretch_start": stretch_start,
        "stretch_end": stretch_end, "quantity": quantity, "price_units": price, "days": days, "period_days": total,
        "amount_minor": amount, "capped": capped,
    })


def rate_month(
    subscriptions: pd.DataFrame,
    changes: pd.DataFrame,
    window_start: object,
    window_end: object,
    convention: Convention,
    rounding: RoundingPolicy,
    currency: str,
    price_decimals: int,
) -> pd.DataFrame:
    """Rate every charge period whose first day lies in ``[window_start, window_end]`` (inclusive).

    ``subscriptions`` has :data:`SUBSCRIPTION_COLUMNS` (``anchor`` may be NaT = ``start``; ``price_units`` in
    ``10**-price_decimals`` of ``currency``); ``changes`` has :data:`CHANGE_COLUMNS` (``quantity`` and
    ``price_units`` nullable, ``cancel`` boolean), in date order per subscription and valid as the scalar engine
    requires. Returns one row per line: ``subscription, period_start, kind, stretch_start, sequence, stretch_end,
    quantity, price_units, days, period_days, amount_minor, capped`` (dates as ``datetime64[D]``, stretch end
    inclusive), the same identities and amounts as ``rate_subscription`` gives line by line; :func:`formulas` adds
    the lineage formula text.
    """
    for frame, columns in ((subscriptions, SUBSCRIPTION_COLUMNS), (changes, CHANGE_COLUMNS)):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise ValueError(f"rate_month needs column(s) {', '.join(missing)}")
    scale = price_decimals - minor_units(currency)
    window_from, window_to = _days(np.array([window_start, window_end]))
    start = _days(subscriptions["start"])
    anchor = _days(subscriptions["anchor"].fillna(subscriptions["start"]))
    billing = subscriptions["billing_months"].to_numpy(np.int64)
    anchors = _Anchors(anchor, billing)
    every = np.arange(len(subscriptions))
    states = _day_states(subscriptions, changes)
    state_rows = states["row"].to_numpy()
    state_days = states["day"].to_numpy()

    # Charge periods starting in the window: from k_lo to k_hi per subscription.
    first_index = anchors.containing(start, every)
    at_from = anchors.containing(np.full_like(start, window_from), every)
    after_from = at_from + (anchors.boundary(at_from, every) < window_from)
    low = np.where(start >= window_from, first_index, after_from)
    high = anchors.containing(np.full_like(start, window_to), every)
    count = np.where(start <= window_to, np.maximum(high - low + 1, 0), 0)
    rows = np.repeat(every, count)
    index = np.repeat(low, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    period_start = anchors.boundary(index, rows)
    period_end = anchors.boundary(index + 1, rows) - 1
    charge_start = np.maximum(period_start, start[rows])

    # State on each charge period's first day: the last day-state on or before it, else the subscription's own.
    keys = state_rows * (1 << 32) + state_days
    found = np.searchsorted(keys, rows * (1 << 32) + charge_start, side="right") - 1
    own = found >= 0  # no earlier state at all (also when there are no changes): found is -1
    own[own] = state_rows[found[own]] == rows[own]
    quantity = subscriptions["quantity"].to_numpy(np.int64)[rows]
    price = subscriptions["price_units"].to_numpy(np.int64)[rows]
    quantity[own] = states["quantity"].to_numpy()[found[own]]
    price[own] = states["price"].to_numpy()[found[own]]
    billed = quantity > 0
    days, total = _fraction(charge_start, period_start, period_end, billing[rows], convention)
    charges = _lines(rows, charge_start, "charge", charge_start, period_end, quantity, price, days, total,
                     _amounts(quantity, price, days, total, scale, rounding), np.zeros(len(rows), dtype=bool))[billed]

    # Change days strictly inside a charge period that starts in the window: credit the line in force, rebill.
    rows = state_rows
    index = anchors.containing(state_days, rows)
    period_start = anchors.boundary(index, rows)
    period_end = anchors.boundary(index + 1, rows) - 1
    charge_start = np.maximum(period_start, start[rows])
    first = np.ones(len(states), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    new_quantity, new_price = states["quantity"].to_numpy(), states["price"].to_numpy()
    old_quantity = np.where(first, subscriptions["quantity"].to_numpy(np.int64)[rows], np.roll(new_quantity, 1))
    old_price = np.where(first, subscriptions["price_units"].to_numpy(np.int64)[rows], np.roll(new_price, 1))
    previous_day = np.where(first, start[rows], np.roll(state_days, 1))
    credited_start = np.where(previous_day > charge_start, previous_day, charge_start)
    inside = (state_days > charge_start) & (charge_start >= window_from) & (charge_start <= window_to)
    billing_rows = billing[rows]
    days, total = _fraction(state_days, period_start, period_end, billing_rows, convention)
    line_days, line_total = _fraction(credited_start, period_start, period_end, billing_rows, convention)
    credited = _amounts(old_quantity, old_price, line_days, line_total, scale, rounding)
    uncapped = -_amounts(old_quantity, old_price, days, total, scale, rounding)
    credits = _lines(rows, charge_start, "credit", state_days, period_end, old_quantity, old_price, days, total,
                     np.maximum(uncapped, -credited), uncapped < -credited)[inside & (old_quantity > 0)]
    rebills = _lines(rows, charge_start, "charge", state_days, period_end, new_quantity, new_price, days, total,
                     _amounts(new_quantity, new_price, days, total, scale, rounding),
                     np.zeros(len(rows), dtype=bool))[inside & (new_quantity > 0)]

    lines = pd.concat([charges, credits, rebills], ignore_index=True)
    order = {"credit": 0, "charge": 1}
    lines = lines.assign(_kind=lines["kind"].map(order)).sort_values(
        ["row", "period_start", "stretch_start", "_kind"], kind="stable", ignore_index=True)
    ids = subscriptions["subscription"].to_numpy()
    return pd.DataFrame({
        "subscription": ids[lines["row"].to_numpy()],
        "period_start": lines["period_start"].to_numpy().astype("datetime64[D]"),
        "kind": lines["kind"].to_numpy(),
        "stretch_start": lines["stretch_start"].to_numpy().astype("datetime64[D]"),
        "sequence": np.zeros(len(lines), dtype=np.int64),
        "stretch_end": lines["stretch_end"].to_numpy().astype("datetime64[D]"),
        "quantity": lines["quantity"].to_numpy(np.int64),
        "price_units": lines["price_units"].to_numpy(np.int64),
        "days": lines["days"].to_numpy(np.int64),
        "period_days": lines["period_days"].to_numpy(np.int64),
        "amount_minor": lines["amount_minor"].to_numpy(np.int64),
        "capped": lines["capped"].to_numpy(bool),
    })


def _decimal_text(units: pd.Series, decimals: int) -> pd.Series:
    """Non-negative integer units as decimal text with exactly ``decimals`` places (``Decimal`` formatting)."""
    if decimals == 0:
        return units.astype(str)
    whole, part = np.divmod(units.to_numpy(np.int64), 10**decimals)
    return pd.Series(whole).astype(str) + "." + pd.Series(part).astype(str).str.zfill(decimals)


def formulas(lines: pd.DataFrame, currency: str, price_decimals: int) -> pd.Series:
    """The formula text the scalar engine writes into lineage, for every line of :func:`rate_month`'s result
    (``"-4 × 12.0000 × 25/30"``, with the cap named where a credit was capped)."""
    lines = lines.reset_index(drop=True)
    sign = np.where(lines["kind"].to_numpy() == "credit", "-", "")
    text = (pd.Series(sign) + lines["quantity"].astype(str) + " × " + _decimal_text(lines["price_units"],
            price_decimals) + " × " + lines["days"].astype(str) + "/" + lines["period_days"].astype(str))
    capped = lines["capped"].to_numpy(bool)
    floors = [str(Money.from_minor(int(units), currency).amount) for units in lines["amount_minor"][capped]]
    text[capped] = text[capped] + [f", capped at {floor} (what remains of the credited line)" for floor in floors]
    return text
