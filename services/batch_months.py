"""Billing months (``YYYY-MM``) and which months a batch owns.

A line belongs to the month of its bill date. The batch of month M owns the months after the last earlier batch
that is still a draft (those months are that draft's business), no earlier than the tenant's first batch (history
before cspbill billed is not re-billed) and at most ``CORRECTION_MONTHS`` back (late data older than that is
handled by hand), up to M itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from services.errors import ValidationFailed

CORRECTION_MONTHS = 12
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
CLOSED = frozenset({"approved", "exported"})


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of ``YYYY-MM``."""
    match = _MONTH.fullmatch(text or "")
    if match is None:
        raise ValidationFailed(f"--month {text!r}: not a month like 2026-05")
    first = dt.date(int(match.group(1)), int(match.group(2)), 1)
    return first, add_months(first, 1) - dt.timedelta(days=1)


def add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def shift(month: str, months: int) -> str:
    day = add_months(parse_month(month)[0], months)
    return f"{day.year:04d}-{day.month:02d}"


def owned_months(month: str, statuses: Mapping[str, str]) -> tuple[str, str]:
    """``(first, last)`` months whose keys the batch of ``month`` owns; ``statuses`` = ``{month: status}``."""
    horizon = min([*statuses, month])
    earlier_drafts = [m for m, status in statuses.items() if m < month and status not in CLOSED]
    first = max(horizon, shift(month, -CORRECTION_MONTHS))
    if earlier_drafts:
        first = max(first, shift(max(earlier_drafts), 1))
    return first, month
