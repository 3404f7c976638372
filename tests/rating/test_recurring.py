"""MRR and its movements (``rating.recurring``): how a stretch counts per month, and churn and expansion."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from rating.recurring import Recurring, charge_months, classify, gained_and_lost, movements, mrr

D = dt.date


def cents(amount: Fraction, currency: str) -> Decimal:
    del currency
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.parametrize(("previous", "current", "kind"), [
    ("0", "10.00", "new"),
    ("10.00", "0", "churned"),
    ("10.00", "12.50", "expansion"),
    ("12.50", "10.00", "contraction"),
    ("10.00", "10.00", "unchanged"),
    ("0", "0", "unchanged"),
    ("0", "-5.00", "new"),  # only a credit this month: still a movement to look at
])
def test_classify(previous: str, current: str, kind: str) -> None:
    assert classify(Decimal(previous), Decimal(current)) == kind


@pytest.mark.parametrize(("first", "last", "months"), [
    (D(2026, 10, 25), D(2026, 11, 24), 1),  # an anniversary month (NCE monthly)
    (D(2026, 10, 1), D(2026, 10, 31), 1),
    (D(2026, 10, 22), D(2026, 11, 4), 1),  # a prorated start counts in full
    (D(2026, 10, 5), D(2027, 10, 4), 12),  # annual paid up front
    (D(2026, 1, 31), D(2026, 2, 27), 1),
    (D(2024, 12, 29), D(2027, 12, 28), 36),
])
def test_charge_months(first: dt.date, last: dt.date, months: int) -> None:
    assert charge_months(first, last) == months


def test_an_annual_line_spreads_over_its_twelve_months_and_rounds_once_per_cell() -> None:
    lines = [Recurring("nl-bv", "Contoso", D(2026, 10, 5), D(2027, 10, 4), Decimal("1000.00"), "EUR"),
             Recurring("nl-bv", "Contoso", D(2026, 10, 5), D(2026, 11, 4), Decimal("10.00"), "EUR"),
             Recurring("nl-bv", "Contoso", D(2026, 10, 5), D(2026, 11, 4), Decimal("0.01"), "EUR")]
    cells = mrr(lines, cents)
    assert len(cells) == 12
    assert [(c.month, c.mrr) for c in cells[:2]] == [("2026-10", Decimal("93.34")), ("2026-11", Decimal("83.33"))]
    assert cells[0].arr == Decimal("1120.08")


def test_movements_and_what_was_gained_and_lost() -> None:
    lines = [Recurring("nl-bv", "A", D(2026, 9, 1), D(2026, 9, 30), Decimal("100"), "EUR"),
             Recurring("nl-bv", "A", D(2026, 10, 1), D(2026, 10, 31), Decimal("150"), "EUR"),
             Recurring("nl-bv", "B", D(2026, 9, 1), D(2026, 9, 30), Decimal("80"), "EUR"),
             Recurring("nl-bv", "C", D(2026, 10, 1), D(2026, 10, 31), Decimal("30"), "EUR"),
             Recurring("nl-bv", "D", D(2026, 9, 1), D(2026, 9, 30), Decimal("40"), "EUR"),
             Recurring("nl-bv", "D", D(2026, 10, 1), D(2026, 10, 31), Decimal("25"), "EUR"),
             Recurring("nl-bv", "E", D(2026, 9, 1), D(2026, 9, 30), Decimal("9"), "USD"),
             Recurring("nl-bv", "E", D(2026, 10, 1), D(2026, 10, 31), Decimal("9"), "USD")]
    moves = movements(mrr(lines, cents), ["2026-10"])
    assert [(m.customer, m.kind, m.change) for m in moves] == [
        ("A", "expansion", Decimal("50.00")), ("B", "churned", Decimal("-80.00")), ("C", "new", Decimal("30.00")),
        ("D", "contraction", Decimal("-15.00"))]
    assert gained_and_lost(moves) == {("nl-bv", "2026-10", "EUR"): (Decimal("80.00"), Decimal("95.00"))}
