"""The money at stake in a finding: seat-days priced at a daily seat price, or a margin gap.

Why a module of its own: the list of findings is sorted by this amount, so one rule must price every kind the same
way, exactly (``Fraction``) and rounded once by the tenant's policy. The daily seat price comes from the price the
subscription was last billed at (an approved or exported charge line: its unit price covers one charge cycle),
else from the vendor's unit cost on the snapshot (one month), else it is unknown and the finding has no amount.
No I/O here: callers hand in plain values.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rating.money import Money
from rating.rounding import RoundingPolicy, round_amount

CYCLE_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}  # a charge cycle's months by the subscription's ``billing``


@dataclass(frozen=True)
class SeatDays:
    """``seats`` more or fewer than expected on each of ``days`` days (a sign is kept out: both directions cost)."""

    seats: Decimal
    days: int


def daily_price(unit_price: Decimal, billing: str, day: dt.date) -> Fraction:
    """One seat's price per day: a cycle's unit price spread over the cycle's days starting in ``day``'s month."""
    months = CYCLE_MONTHS.get(billing, 1)
    days, year, month = 0, day.year, day.month
    for _ in range(months):
        days += calendar.monthrange(year, month)[1]
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Fraction(unit_price) / days


def seat_days_at_stake(stretches: Iterable[SeatDays], per_day: Fraction, currency: str,
                       policy: RoundingPolicy) -> Money:
    """Σ |seats| × days × daily price, rounded once."""
    exact = sum((abs(Fraction(s.seats)) * s.days * per_day for s in stretches), Fraction(0))
    return round_amount(exact, currency, policy)


def margin_gap(billed: Decimal, vendor_cost: Decimal, currency: str, policy: RoundingPolicy) -> Money:
    """What the vendor charges us above what we charged (0 when the margin is not negative)."""
    return round_amount(max(vendor_cost - billed, Decimal(0)), currency, policy)
