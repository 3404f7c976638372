"""The vectorised month path (``rating.bulk``) gives the same lines as the scalar engine, on random inputs."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.bulk import formulas, rate_month
from rating.money import to_units
from rating.months import month_bounds
from rating.periods import Convention
from rating.proration import Change, SubscriptionTerms, Window, rate_subscription
from rating.rounding import RoundingPolicy

PRICE_DECIMALS = 4


def last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def random_book(seed: int, count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    subs = []
    changes = []
    for number in range(count):
        anchor = date(2026, 1, 1) + timedelta(days=int(rng.integers(0, 800)))
        roll = rng.random()
        if roll < 0.25:  # day 28-31, clipped: month ends and the days just before them
            anchor = anchor.replace(day=min(int(rng.choice([28, 29, 30, 31])), last_day(anchor)))
        elif roll < 0.4:  # the end of February, leap years included
            anchor = date(int(rng.choice([2026, 2027, 2028])), 2, 1)
            anchor = anchor.replace(day=last_day(anchor))
        elif roll < 0.55:  # the 31st of a 31-day month
            anchor = date(int(rng.choice([2026, 2027])), int(rng.choice([1, 3, 5, 7, 8, 10, 12])), 31)
        start = anchor + timedelta(days=int(rng.integers(0, 40)) if rng.random() < 0.3 else 0)
        sub = f"s{number}"
        subs.append({"subscription": sub, "start": start, "anchor": anchor if start != anchor else None,
                     "billing_months": int(rng.choice([1, 1, 1, 12, 36])), "quantity": int(rng.integers(0, 30)),
                     "price_units": int(rng.integers(0, 400_000))})
        day = start
        for _ in range(int(rng.integers(0, 5))):
            day = day + timedelta(days=int(rng.integers(0, 25)))
            if rng.random() < 0.3:  # a month's last day, its 30th, or the day after its end
                snapped = day.replace(day=min(int(rng.choice([29, 30, 31])), last_day(day)))
                day = max(day, snapped + timedelta(days=int(rng.choice([0, 0, 1]))))
            roll = rng.random()
            if roll < 0.1:
                changes.append({"subscription": sub, "effective": day, "quantity": None, "price_units": None,
                                "cancel": True})
                break
            changes.append({
                "subscription": sub, "effective": day,
                "quantity": int(rng.integers(0, 30)) if roll < 0.8 else None,
                "price_units": int(rng.integers(0, 400_000)) if roll > 0.6 else None,
                "cancel": False,
            })
    return frames(subs, changes)


def frames(subs: list[dict], changes: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    subs_frame = pd.DataFrame(subs)
    subs_frame["start"] = pd.to_datetime(subs_frame["start"])
    subs_frame["anchor"] = pd.to_datetime(subs_frame["anchor"])
    change_frame = pd.DataFrame(changes, columns=["subscription", "effective", "quantity", "price_units", "cancel"])
    change_frame["effective"] = pd.to_datetime(change_frame["effective"])
    return subs_frame, change_frame


def scalar_lines(subs: pd.DataFrame, changes: pd.DataFrame, window: Window, convention: Convention,
                 rounding: RoundingPolicy) -> dict[tuple, tuple]:
    unit = Decimal(1).scaleb(-PRICE_DECIMALS)
    result = {}
    by_sub = {sub: group for sub, group in changes.groupby("subscription")}
    for row in subs.itertuples():
        anchor = None if pd.isna(row.anchor) else row.anchor.date()
        terms = SubscriptionTerms(row.subscription, "EUR", row.start.date(), row.quantity, row.price_units * unit,
                                  term_months=row.billing_months, billing_months=row.billing_months, anchor=anchor)
        dated = [
            Change(c.effective.date(),
                   quantity=None if pd.isna(c.quantity) else int(c.quantity),
                   unit_price=None if pd.isna(c.price_units) else int(c.price_units) * unit,
                   cancel=bool(c.cancel))
            for c in by_sub.get(row.subscription, changes.iloc[:0]).itertuples()
        ]
        for line in rate_subscription(terms, dated, window, convention, rounding):
            result[line.key.as_tuple()] = (line.stretch_end.isoformat(), line.quantity,
                                           to_units(line.unit_price, PRICE_DECIMALS), line.days, line.period_days,
                                           line.amount.to_minor(), line.formula)
    return result


def bulk_lines(frame: pd.DataFrame) -> dict[tuple, tuple]:
    def iso(value: np.datetime64) -> str:
        return str(value.astype("datetime64[D]"))

    texts = formulas(frame, "EUR", PRICE_DECIMALS)
    return {
        (row.subscription, iso(row.period_start), row.kind, iso(row.stretch_start), int(row.sequence)):
            (iso(row.stretch_end), int(row.quantity), int(row.price_units), int(row.days), int(row.period_days),
             int(row.amount_minor), text)
        for row, text in zip(frame.to_records(index=False), texts, strict=True)
    }


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize("rounding", list(RoundingPolicy))
def test_bulk_equals_scalar(convention: Convention, rounding: RoundingPolicy) -> None:
    seed = 3 * list(Convention).index(convention) + list(RoundingPolicy).index(rounding)
    subs, changes = random_book(seed, count=250)
    for start, end in [(date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 5, 1), date(2026, 5, 31)),
                       (date(2027, 1, 15), date(2027, 4, 14)), (date(2028, 2, 1), date(2028, 3, 31))]:
        expected = scalar_lines(subs, changes, Window(start, end), convention, rounding)
        got = bulk_lines(rate_month(subs, changes, start, end, convention, rounding, "EUR", PRICE_DECIMALS))
        assert got == expected


month_end_days = st.one_of(
    st.builds(lambda year, month, back: date(year, month, last_day(date(year, month, 1))) - timedelta(days=back),
              st.integers(2026, 2028), st.integers(1, 12), st.integers(0, 2)),
    st.builds(date, st.integers(2026, 2028), st.sampled_from([1, 3, 5, 7, 8, 10, 12]), st.just(31)),
    st.dates(date(2026, 1, 1), date(2028, 12, 31)),
)


@st.composite
def month_end_books(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A few subscriptions anchored and changed on month ends, 31sts and February ends (leap years included)."""
    subs, changes = [], []
    for number in range(draw(st.integers(1, 4))):
        anchor = draw(month_end_days)
        start = anchor + timedelta(days=draw(st.sampled_from([0, 0, 1, 28, 30])))
        subs.append({"subscription": f"s{number}", "start": start, "anchor": anchor,
                     "billing_months": draw(st.sampled_from([1, 1, 12])), "quantity": draw(st.integers(0, 20)),
                     "price_units": draw(st.integers(0, 400_000))})
        days = sorted(day for day in draw(st.lists(month_end_days, max_size=3)) if day >= start)
        for position, day in enumerate(days):
            cancel = position == len(days) - 1 and draw(st.booleans())
            changes.append({"subscription": f"s{number}", "effective": day,
                            "quantity": None if cancel else draw(st.integers(0, 20)),
                            "price_units": None if cancel else draw(st.none() | st.integers(0, 400_000)),
                            "cancel": cancel})
    return frames(subs, changes)


@settings(max_examples=150)
@given(month_end_books(), st.sampled_from(list(Convention)), st.sampled_from(list(RoundingPolicy)),
       st.sampled_from(["2026-02", "2026-03", "2026-05", "2027-02", "2028-02", "2028-03"]))
def test_bulk_equals_scalar_on_month_ends(book, convention, rounding, month) -> None:
    subs, changes = book
    start, end = month_bounds(month)
    expected = scalar_lines(subs, changes, Window(start, end), convention, rounding)
    assert bulk_lines(rate_month(subs, changes, start, end, convention, rounding, "EUR", PRICE_DECIMALS)) == expected


def test_bulk_falls_back_to_python_ints_instead_of_overflowing() -> None:
    # 9,000,000 seats × 9,000,000.000000 × 1096 days overflows int64 before the division; the amount itself fits.
    subs = pd.DataFrame({"subscription": ["big"], "start": pd.to_datetime(["2026-01-01"]), "anchor": [pd.NaT],
                         "billing_months": [36], "quantity": [9_000_000], "price_units": [9 * 10**12]})
    changes = pd.DataFrame({"subscription": ["big"], "effective": pd.to_datetime(["2026-06-10"]), "quantity": [1],
                            "price_units": [None], "cancel": [False]})
    frame = rate_month(subs, changes, date(2026, 1, 1), date(2026, 1, 31), Convention.ACTUAL,
                       RoundingPolicy.HALF_UP, "EUR", 6)
    terms = SubscriptionTerms("big", "EUR", date(2026, 1, 1), 9_000_000, Decimal(9_000_000), term_months=36,
                              billing_months=36)
    lines = rate_subscription(terms, [Change(date(2026, 6, 10), quantity=1)],
                              Window(date(2026, 1, 1), date(2026, 1, 31)), Convention.ACTUAL, RoundingPolicy.HALF_UP)
    assert frame["amount_minor"].tolist() == [line.amount.to_minor() for line in lines]
    assert len(lines) == 3


def test_bulk_counts_clipped_month_end_cycles_like_the_scalar_engine() -> None:
    """Golden cases 03 and 11: in the cycle 02-28..03-30 (anchor 01-31) 30 remaining days count 30/31, the period's
    own length being longer than February (rating-cases.md rule 3), so neither credit needs its cap."""
    subs = pd.DataFrame({"subscription": ["s3", "s11"], "start": pd.to_datetime(["2026-01-31", "2026-02-28"]),
                         "anchor": pd.to_datetime([None, "2026-01-31"]), "billing_months": [1, 1],
                         "quantity": [1, 1], "price_units": [310_000, 280_000]})
    changes = pd.DataFrame({"subscription": ["s3", "s11"], "effective": pd.to_datetime(["2026-03-01", "2026-03-01"]),
                            "quantity": [2, None], "price_units": [None, None], "cancel": [False, True]})
    window = Window(date(2026, 1, 1), date(2026, 5, 31))
    frame = rate_month(subs, changes, window.start, window.end, Convention.MICROSOFT, RoundingPolicy.HALF_UP, "EUR",
                       PRICE_DECIMALS)
    credits = frame[frame["kind"] == "credit"]
    assert credits[["days", "period_days", "amount_minor", "capped"]].values.tolist() == [[30, 31, -3000, False],
                                                                                        [30, 31, -2710, False]]
    assert bulk_lines(frame) == scalar_lines(subs, changes, window, Convention.MICROSOFT, RoundingPolicy.HALF_UP)


def test_bulk_counts_thirty_slots_like_the_scalar_engine() -> None:
    """Strict 30/360 (rule 4): a change on February's last day leaves one slot, on 2028-02-28 three (slots 28 to
    30, the 29th being slot 30), and 03-15..03-30 of an anchor-31 cycle sixteen."""
    subs = pd.DataFrame({"subscription": ["feb", "leap", "a31"],
                         "start": pd.to_datetime(["2026-02-01", "2028-02-01", "2026-01-31"]),
                         "anchor": pd.to_datetime([None, None, None]), "billing_months": [1, 1, 1],
                         "quantity": [3, 3, 1], "price_units": [300_000, 300_000, 90_000]})
    changes = pd.DataFrame({"subscription": ["feb", "leap", "a31"],
                            "effective": pd.to_datetime(["2026-02-28", "2028-02-28", "2026-03-15"]),
                            "quantity": [5, 5, 2], "price_units": [None, None, None], "cancel": [False] * 3})
    window = Window(date(2026, 1, 1), date(2028, 2, 29))
    frame = rate_month(subs, changes, window.start, window.end, Convention.THIRTY, RoundingPolicy.TRUNCATE, "EUR",
                       PRICE_DECIMALS)
    credits = frame[frame["kind"] == "credit"]
    assert credits[["subscription", "days", "period_days"]].values.tolist() == [["feb", 1, 30], ["leap", 3, 30],
                                                                                 ["a31", 16, 30]]
    assert bulk_lines(frame) == scalar_lines(subs, changes, window, Convention.THIRTY, RoundingPolicy.TRUNCATE)
