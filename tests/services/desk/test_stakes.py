"""The money at stake in a finding: invariants of the seat-day rule (hypothesis) and a few worked figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.rounding import RoundingPolicy, round_amount
from services.desk.stakes import CYCLE_MONTHS, SeatDays, daily_price, margin_gap, seat_days_at_stake

PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=4)
STRETCHES = st.lists(st.builds(SeatDays, st.integers(-500, 500).map(Decimal), st.integers(1, 366)), max_size=12)
DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))
POLICIES = st.sampled_from(list(RoundingPolicy))


@given(PRICES, st.sampled_from(sorted(CYCLE_MONTHS)), DAYS)
def test_a_cycles_daily_prices_add_up_to_its_unit_price(price: Decimal, billing: str, day: dt.date) -> None:
    start = day.replace(day=1)
    after = start.year * 12 + start.month - 1 + CYCLE_MONTHS[billing]
    days = (dt.date(after // 12, after % 12 + 1, 1) - start).days
    assert daily_price(price, billing, day) * days == Fraction(price)


@given(STRETCHES, PRICES, POLICIES, st.randoms())
def test_the_amount_ignores_direction_and_order(stretches: list[SeatDays], price: Decimal,
                                                policy: RoundingPolicy, rng) -> None:
    per_day = daily_price(price, "P1M", dt.date(2026, 5, 1))
    flipped = [SeatDays(-s.seats, s.days) for s in stretches]
    shuffled = list(stretches)
    rng.shuffle(shuffled)
    amount = seat_days_at_stake(stretches, per_day, "EUR", policy)
    assert amount == seat_days_at_stake(flipped, per_day, "EUR", policy)
    assert amount == seat_days_at_stake(shuffled, per_day, "EUR", policy)
    assert amount.amount >= 0


@given(st.integers(-50, 50), st.integers(2, 300), st.data(), PRICES, POLICIES)
def test_splitting_a_stretch_rounds_once_to_the_same_amount(seats: int, days: int, data, price: Decimal,
                                                            policy: RoundingPolicy) -> None:
    cut = data.draw(st.integers(1, days - 1))
    per_day = daily_price(price, "P1Y", dt.date(2026, 2, 1))
    whole = seat_days_at_stake([SeatDays(Decimal(seats), days)], per_day, "EUR", policy)
    parts = seat_days_at_stake([SeatDays(Decimal(seats), cut), SeatDays(Decimal(seats), days - cut)], per_day,
                               "EUR", policy)
    assert whole == parts == round_amount(abs(seats) * days * per_day, "EUR", policy)


@pytest.mark.parametrize(("stretches", "price", "billing", "expected"), [
    ([SeatDays(Decimal(4), 20)], "28.10", "P1M", "72.52"),  # 4 seats x 20 days x 28.10 / 31 (May)
    ([SeatDays(Decimal(-2), 20)], "33.20", "P1M", "42.84"),
    ([SeatDays(Decimal(1), 365)], "365.00", "P1Y", "365.00"),  # a year's price over the year from May 2026
    ([], "10.00", "P1M", "0.00"),
])
def test_worked_figures(stretches: list[SeatDays], price: str, billing: str, expected: str) -> None:
    per_day = daily_price(Decimal(price), billing, dt.date(2026, 5, 1))
    assert seat_days_at_stake(stretches, per_day, "EUR", RoundingPolicy.HALF_UP).amount == Decimal(expected)


@pytest.mark.parametrize(("billed", "cost", "gap"), [("48.47", "220.60", "172.13"), ("300", "281", "0.00"),
                                                     ("10", "10", "0.00")])
def test_the_margin_gap_is_what_the_vendor_charges_above_the_bill(billed: str, cost: str, gap: str) -> None:
    assert margin_gap(Decimal(billed), Decimal(cost), "EUR", RoundingPolicy.HALF_UP).amount == Decimal(gap)
