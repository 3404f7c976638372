"""Dunning levels as a table: due date from the terms, days late, and the highest level reached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rating.payments.dunning import Level, overdue, reminder_text

LADDER = [Level(1, 7, "first {invoice} {days}"), Level(2, 21, "second"), Level(3, 35, "last")]
ISSUED = dt.date(2026, 11, 3)


@pytest.mark.parametrize(("today", "terms", "days", "level"), [
    (dt.date(2026, 11, 17), 14, None, None),  # the due date itself: not late
    (dt.date(2026, 11, 18), 14, 1, 0),  # late, before the first level
    (dt.date(2026, 11, 24), 14, 7, 1),
    (dt.date(2026, 12, 8), 14, 21, 2),
    (dt.date(2027, 1, 31), 14, 75, 3),
    (dt.date(2026, 12, 8), 30, 5, 0),  # the customer's own longer terms
    (dt.date(2026, 11, 4), 0, 1, 0),  # due on receipt
])
def test_levels_reached(today: dt.date, terms: int, days: int | None, level: int | None) -> None:
    late = overdue(ISSUED, terms, today, LADDER)
    if days is None:
        assert late is None
        return
    assert late is not None and late.days == days
    assert (late.level.level if late.level else 0) == level


def test_the_text_names_the_invoice_and_the_days() -> None:
    late = overdue(ISSUED, 14, dt.date(2026, 11, 24), LADDER)
    assert late is not None and late.level is not None
    assert reminder_text(late.level, "Contoso", "NL2026-00001", ISSUED, late, Decimal("242.00"), "EUR") == (
        "first NL2026-00001 7")
