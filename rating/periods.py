"""Billing periods, charge periods and day counts.

All periods here have **inclusive** end dates (a period ``[start, end]`` contains both days), as in Partner Center.
Boundaries are always computed from the anchor (``anchor + k × billing``, clipped to shorter months), never from the
previous boundary, so an anchor on the 31st comes back to the 31st after February (01-31, 02-28, 03-31, 04-30, …).
The three day-count conventions follow ``reference/rating-cases.md`` "Precise rules" 3 and 4 exactly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from rating.months import add_months, month_end

ONE_DAY = timedelta(days=1)
_DURATION = re.compile(r"P([1-9][0-9]*)([MY])")


class Convention(StrEnum):
    """Day counts: ``microsoft`` (Partner Center charge-cycle days), ``actual``, ``thirty`` (strict 30/360)."""

    MICROSOFT = "microsoft"
    ACTUAL = "actual"
    THIRTY = "thirty"


@functools.lru_cache(maxsize=64)
def parse_duration(text: str) -> int:
    """An ISO 8601 month/year duration (``P1M``, ``P1Y``, ``P3Y``) as a number of months (cached: a build parses
    every licence's term and billing, and there are a handful of them)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like P1M, P1Y or P3Y")
    count = int(match.group(1))
    return count * 12 if match.group(2) == "Y" else count


def days_inclusive(start: date, end: date) -> int:
    """Days from ``start`` to ``end``, both included."""
    return (end - start).days + 1


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """Billing period number ``index`` counted from the anchor (negative before it); ``end`` is inclusive."""

    index: int
    start: date
    end: date
    months: int


def period_at(anchor: date, months: int, index: int) -> BillingPeriod:
    """Billing period ``index``: from ``anchor + index × months`` to the day before the next boundary."""
    return BillingPeriod(
        index, add_months(anchor, index * months), add_months(anchor, (index + 1) * months) - ONE_DAY, months
    )


@functools.lru_cache(maxsize=65536)
def period_containing(anchor: date, months: int, day: date) -> BillingPeriod:
    """The billing period (boundaries from ``anchor``, every ``months``) that contains ``day``. Cached (periods are
    immutable): a month-end build asks it for every licence on the few days of its month, and licences share
    anchors."""
    index = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    while add_months(anchor, index * months) > day:
        index -= 1
    while add_months(anchor, (index + 1) * months) <= day:
        index += 1
    return period_at(anchor, months, index)


def periods_from(anchor: date, months: int, day: date) -> Iterator[BillingPeriod]:
    """Consecutive billing periods, starting with the one that contains ``day``; endless."""
    index = period_containing(anchor, months, day).index
    while True:
        yield period_at(anchor, months, index)
        index += 1


def period_days(period: BillingPeriod, convention: Convention) -> int:
    """The denominator of a day fraction in ``period`` (rating-cases.md precise rule 3).

    ``microsoft``: monthly billing → the days of the calendar month in which the period starts (a period 01-31 →
    02-27 has 31), or the period's own days where those are more (02-28 → 03-30 has 31, not 28), so a partial
    stretch never counts for more than the whole period; longer billing → the period's own days (365/366,
    1095/1096). ``actual``: the period's own days. ``thirty``: 30 per month of billing (360 a year).
    """
    if convention is Convention.THIRTY:
        return 30 * period.months
    own = days_inclusive(period.start, period.end)
    if convention is Convention.MICROSOFT and period.months == 1:
        return max(month_end(period.start).day, own)
    return own


def thirty_index(day: date) -> int:
    """The strict 30/360 slot number of ``day``: ``30·(12·year + month) + slot``, where every month has 30 slots
    and its last day (February's included) is slot 30, any other day slot ``min(day, 30)``."""
    slot = 30 if day.day == month_end(day).day else min(day.day, 30)
    return 30 * (12 * day.year + day.month) + slot


def stretch_days(start: date, end: date, convention: Convention) -> int:
    """The numerator for ``[start, end]`` (inclusive): plain days, or strict 30/360 slots for ``thirty``.

    Slots count ``thirty_index(end) − thirty_index(start) + 1`` (rating-cases.md precise rule 4): a whole calendar
    month is 30, a year 360, and one day at the end of February is 1.
    """
    if convention is not Convention.THIRTY:
        return days_inclusive(start, end)
    return thirty_index(end) - thirty_index(start) + 1


def day_fraction(start: date, end: date, period: BillingPeriod, convention: Convention) -> tuple[int, int]:
    """``(days, period_days)`` for the stretch ``[start, end]`` (inclusive) of ``period``.

    A stretch that is the whole period counts exactly ``period_days`` (fraction 1) in every convention, so a full
    period is never charged more or less than ``quantity × unit_price``.
    """
    if not period.start <= start <= end <= period.end:
        raise ValueError(f"stretch {start}..{end} is not inside period {period.start}..{period.end}")
    denominator = period_days(period, convention)
    if (start, end) == (period.start, period.end):
        return denominator, denominator
    return stretch_days(start, end, convention), denominator
