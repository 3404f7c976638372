"""Calendar months from one place, so every package adds months, finds a month's last day and names a billing month
(``YYYY-MM``) the same way.

Adding months keeps the day of month and clips it to the target month's last day (31 January + 1 month = 28 or 29
February), which is also how Partner Center anchors charge cycles on a month-end start date; the result equals
dateutil's ``relativedelta(months=n)`` (a property test holds them equal). It is plain arithmetic because the rating
engine adds months for every charge period of every subscription, and ``relativedelta`` costs about ten times as much
(a month-end build of 15,000 invoices spent a third of its time there). Periods are inclusive of their last day
(DESIGN §3).
"""

from __future__ import annotations

import calendar
import re
from datetime import date

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """The number of days of a calendar month (``calendar.monthrange`` also works out a weekday: twice the cost)."""
    return 29 if month == 2 and calendar.isleap(year) else _DAYS[month - 1]


def add_months(day: date, months: int) -> date:
    """The same day of month ``months`` later (or earlier), clipped to the last day of the target month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if day.day <= 28:  # every month has it: no clipping to look up
        return date(year, month + 1, day.day)
    return date(year, month + 1, min(day.day, days_in_month(year, month + 1)))


def month_end(day: date) -> date:
    """The last day (inclusive) of ``day``'s month."""
    return day.replace(day=days_in_month(day.year, day.month))


def month_of(day: date) -> str:
    """The billing month ``YYYY-MM`` that ``day`` falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day (inclusive) of ``YYYY-MM``; ``ValueError`` for anything else."""
    match = _MONTH.fullmatch(month)
    if match is None:
        raise ValueError(f"{month!r} is not a month like 2026-05")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    return first, month_end(first)


def shift_month(month: str, months: int) -> str:
    """The billing month ``months`` after (or before) ``month``."""
    return month_of(add_months(month_bounds(month)[0], months))


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return add_months(day.replace(day=1), -1)
