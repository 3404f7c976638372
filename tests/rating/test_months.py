"""Calendar months: clipping at month ends, billing-month names and bounds, in both directions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from rating.months import add_months, month_bounds, month_end, month_of, previous_month, shift_month


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
        (date(2026, 5, 12), 36, date(2029, 5, 12)),
    ],
)
def test_add_months_clips_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("month", "bounds", "before", "after"),
    [
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28)), "2026-01", "2026-03"),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29)), "2028-01", "2028-03"),
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31)), "2026-11", "2027-01"),
        ("2026-01", (date(2026, 1, 1), date(2026, 1, 31)), "2025-12", "2026-02"),
    ],
)
def test_billing_months(month: str, bounds: tuple[date, date], before: str, after: str) -> None:
    assert month_bounds(month) == bounds
    assert (shift_month(month, -1), shift_month(month, 1)) == (before, after)
    assert month_of(bounds[1]) == month
    assert previous_month(bounds[1]) == month_bounds(before)[0]


@pytest.mark.parametrize("text", ["2026-13", "2026-5", "26-05", "2026-05-01", "", "May 2026"])
def test_only_yyyy_mm_is_a_month(text: str) -> None:
    with pytest.raises(ValueError, match="is not a month like 2026-05"):
        month_bounds(text)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_month_end_is_the_day_before_the_next_month(day: date) -> None:
    end = month_end(day)
    assert (end.year, end.month) == (day.year, day.month)
    assert (end + timedelta(days=1)).day == 1


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)), st.integers(-480, 480))
def test_add_months_is_relativedelta(day: date, months: int) -> None:
    assert add_months(day, months) == day + relativedelta(months=months)
