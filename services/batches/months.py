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

from rating.months import month_bounds, shift_month
from services.errors import ValidationFailed

CORRECTION_MONTHS = 12
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
CLOSED = frozenset({"approved", "exported"})


def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of ``YYYY-MM``."""
    try:
        return month_bounds(text or "")
    except ValueError:
        raise ValidationFailed(f"--month {text!r}: not a month like 2026-05") from None


def owned_months(month: str, statuses: Mapping[str, str]) -> tuple[str, str]:
    """``(first, last)`` months whose keys the batch of ``month`` owns; ``statuses`` = ``{month: status}``."""
    horizon = min([*statuses, month])
    earlier_drafts = [m for m, status in statuses.items() if m < month and status not in CLOSED]
    first = max(horizon, shift_month(month, -CORRECTION_MONTHS))
    if earlier_drafts:
        first = max(first, shift_month(max(earlier_drafts), 1))
    return first, month
