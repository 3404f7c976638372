"""Periods and day counts (rating-cases.md precise rules 1–4), denominators tested apart from amounts."""

from __future__ import annotations

from datetime import date

import pytest

from rating.periods import (
    Convention,
    day_fraction,
    parse_duration,
    period_at,
    period_containing,
    period_days,
    stretch_days,
)


def test_boundaries_come_from_the_anchor_not_the_previous_boundary() -> None:
    anchor = date(2026, 1, 31)
    starts = [period_at(anchor, 1, k).start for k in range(5)]
    assert starts == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]


def test_periods_before_the_anchor_and_containing_lookup() -> None:
    anchor = date(2026, 5, 15)
    before = period_containing(anchor, 1, date(2026, 3, 20))
    assert (before.index, before.start, before.end) == (-2, date(2026, 3, 15), date(2026, 4, 14))
    annual = period_containing(date(2026, 2, 28), 12, date(2028, 2, 28))
    assert (annual.start, annual.end) == (date(2028, 2, 28), date(2029, 2, 27))
    clipped = period_containing(date(2026, 1, 31), 1, date(2026, 3, 30))
    assert (clipped.start, clipped.end) == (date(2026, 2, 28), date(2026, 3, 30))


@pytest.mark.parametrize(
    ("anchor", "index", "months", "convention", "expected"),
    [
        (date(2026, 1, 31), 0, 1, Convention.MICROSOFT, 31),  # 01-31..02-27: the January count
        (date(2026, 1, 31), 1, 1, Convention.MICROSOFT, 31),  # 02-28..03-30: its own 31 days, more than February's
        (date(2026, 1, 31), 3, 1, Convention.MICROSOFT, 31),  # 04-30..05-30: its own 31 days, more than April's
        (date(2024, 1, 30), 1, 1, Convention.MICROSOFT, 30),  # 02-29..03-29 (leap): its own 30 days
        (date(2026, 1, 29), 1, 1, Convention.MICROSOFT, 29),  # 02-28..03-28: its own 29 days
        (date(2026, 2, 28), 0, 1, Convention.MICROSOFT, 28),  # 02-28..03-27: February, the period's own length
        (date(2026, 1, 31), 0, 1, Convention.ACTUAL, 28),
        (date(2026, 1, 31), 1, 1, Convention.ACTUAL, 31),
        (date(2026, 1, 30), 0, 1, Convention.THIRTY, 30),
        (date(2027, 6, 1), 0, 12, Convention.MICROSOFT, 366),
        (date(2026, 1, 10), 0, 36, Convention.ACTUAL, 1096),
        (date(2026, 1, 10), 0, 36, Convention.THIRTY, 1080),
    ],
)
def test_period_days(anchor: date, index: int, months: int, convention: Convention, expected: int) -> None:
    assert period_days(period_at(anchor, months, index), convention) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 2, 1), date(2026, 2, 28), 30),
        (date(2026, 2, 28), date(2026, 2, 28), 1),  # one day at the end of February is one slot (it was 3)
        (date(2026, 2, 27), date(2026, 2, 27), 1),
        (date(2026, 2, 27), date(2026, 2, 28), 4),  # 02-28 is slot 30: slots 27..30
        (date(2028, 2, 29), date(2028, 2, 29), 1),  # leap February's last day, one slot (it was 2)
        (date(2028, 2, 28), date(2028, 3, 1), 4),   # slots 28, 30 (02-29), then 03-01
        (date(2026, 1, 31), date(2026, 1, 31), 1),
        (date(2026, 1, 30), date(2026, 1, 30), 1),  # slot 30 (it was 0, counted to the 31st)
        (date(2026, 1, 30), date(2026, 1, 31), 1),  # the 31st shares slot 30 with the 30th
        (date(2026, 3, 15), date(2026, 3, 30), 16),
        (date(2026, 1, 1), date(2026, 12, 31), 360),
        (date(2026, 10, 16), date(2027, 3, 31), 165),
        (date(2026, 1, 15), date(2026, 1, 31), 16),
        (date(2026, 3, 1), date(2026, 3, 30), 30),
    ],
)
def test_thirty_stretch_days(start: date, end: date, expected: int) -> None:
    assert stretch_days(start, end, Convention.THIRTY) == expected
    assert stretch_days(start, end, Convention.ACTUAL) == (end - start).days + 1


def test_whole_period_is_exactly_one_in_every_convention() -> None:
    for anchor in (date(2026, 1, 31), date(2024, 1, 30), date(2026, 1, 29), date(2026, 2, 28)):
        for index in range(-1, 13):
            period = period_at(anchor, 1, index)
            for convention in Convention:
                days, total = day_fraction(period.start, period.end, period, convention)
                assert days == total == period_days(period, convention)
    period = period_at(date(2026, 1, 31), 1, 0)
    with pytest.raises(ValueError):
        day_fraction(date(2026, 1, 1), period.end, period, Convention.ACTUAL)


def test_durations() -> None:
    assert [parse_duration(text) for text in ("P1M", "P1Y", "P3Y", "P12M")] == [1, 12, 36, 12]
    for bad in ("P0M", "1M", "P1W", "P1.5Y"):
        with pytest.raises(ValueError):
            parse_duration(bad)
