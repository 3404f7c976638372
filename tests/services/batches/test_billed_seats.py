"""The billed view counts seats, not lines: charges add, credits and reversals take seats away."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.repositories.discrepancies import BilledView
from services.batches.billed_seats import billed_seats

D = dt.date
KEY = "nl-bv/1/1/{}/{}"


def line(span: str, kind: str, quantity: str, amount: str, version: int = 1, base: str = "charge",
         should: str | None = None) -> BilledView:
    """An invoice line of key ``span``/``base``; ``should`` makes it a correction of what the key billed before."""
    first, last = (D.fromisoformat(day) for day in span.split(".."))
    return BilledView(0, 1, KEY.format(span, base), version, kind, Decimal(quantity), Decimal(amount), Decimal(amount),
                      first, last, should)


CHARGE = line("2026-09-11..2026-10-10", "charge", "1", "38.18")
REVERSAL = line("2026-09-11..2026-10-10", "correction", "1", "-38.18", version=2, should="0")
RECHARGE = line("2026-09-30..2026-10-10", "correction", "1", "14")  # a late first version: billed as a correction
REPRICE = line("2026-09-11..2026-10-10", "correction", "1", "2.50", version=2, should="40.68")
MORE = line("2026-10-03..2026-10-10", "charge", "3", "30.54")
LESS = line("2026-10-03..2026-10-10", "credit", "1", "-10.18", base="credit")
LATE_CREDIT = line("2026-10-03..2026-10-10", "correction", "1", "-10.18", base="credit")
USAGE = line("2026-10-01..2026-10-01", "usage", "7", "3.10", base="usage:storage")
LATE_USAGE = line("2026-10-01..2026-10-01", "correction", "7", "3.10", base="usage:storage")


@pytest.mark.parametrize(("lines", "day", "seats"), [
    ([], D(2026, 10, 1), None),
    ([CHARGE], D(2026, 10, 1), 1),  # charge only
    ([CHARGE], D(2026, 10, 11), None),  # outside the stretch
    ([CHARGE, REVERSAL, RECHARGE], D(2026, 10, 1), 1),  # charge, its reversal, the re-charge
    ([CHARGE, REVERSAL], D(2026, 10, 1), 0),  # reversed and not re-charged
    ([REVERSAL, CHARGE, RECHARGE], D(2026, 10, 1), 1),  # versions count in version order, not line order
    ([CHARGE, REPRICE], D(2026, 10, 1), 1),  # a price correction moves money, not seats
    ([CHARGE, REVERSAL, RECHARGE, MORE, LESS], D(2026, 10, 3), 3),  # + a change to 3: credit 1, rebill 3
    ([CHARGE, REVERSAL, RECHARGE, MORE, LESS], D(2026, 10, 2), 1),
    ([CHARGE, MORE, LATE_CREDIT], D(2026, 10, 5), 3),  # a credit billed late (on a credit note) takes away
    ([CHARGE, USAGE, LATE_USAGE], D(2026, 10, 1), 1),  # usage is not seats
    ([USAGE], D(2026, 10, 1), None),
])
def test_billed_seats_are_the_net_of_the_lines_covering_the_day(lines: list[BilledView], day: dt.date,
                                                               seats: int | None) -> None:
    assert billed_seats(lines, day) == (None if seats is None else Decimal(seats))
