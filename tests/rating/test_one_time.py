"""One-time charges and refund credits: never prorated, credits share the invoiced amount and never exceed it."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.one_time import charge, credit, refund_share
from rating.rounding import RoundingPolicy

HALF_UP = RoundingPolicy.HALF_UP


@pytest.mark.parametrize("refunded_cost, charged_cost, refunded_qty, bought_qty, share", [
    (Decimal("100"), Decimal("200"), Decimal(1), Decimal(2), Fraction(1, 2)),  # by cost
    (Decimal("50"), Decimal("200"), Decimal(2), Decimal(2), Fraction(1, 4)),  # prorated refund: cost wins
    (None, Decimal("200"), Decimal(1), Decimal(4), Fraction(1, 4)),  # cost unknown: by quantity
    (Decimal("300"), Decimal("200"), Decimal(3), Decimal(2), Fraction(1)),  # more than bought: the whole purchase
    (None, None, Decimal(1), Decimal(0), Fraction(0)),  # nothing bought, nothing to share
])
def test_refund_share(refunded_cost: Decimal | None, charged_cost: Decimal | None, refunded_qty: Decimal,
                      bought_qty: Decimal, share: Fraction) -> None:
    assert refund_share(refunded_cost, charged_cost, refunded_qty, bought_qty) == share


def test_charge_is_quantity_times_price_rounded_once() -> None:
    rated = charge(Decimal(3), Decimal("33.335"), "EUR", HALF_UP)
    assert (rated.amount.amount, rated.unrounded) == (Decimal("100.01"), Fraction("100.005"))


def test_credit_is_capped_at_what_is_left_of_the_invoice() -> None:
    first = credit(Decimal("230.00"), Decimal(0), Fraction(3, 4), "EUR", HALF_UP)
    second = credit(Decimal("230.00"), -first.amount.amount, Fraction(1, 2), "EUR", HALF_UP)
    assert (first.amount.amount, first.capped) == (Decimal("-172.50"), False)
    assert (second.amount.amount, second.capped) == (Decimal("-57.50"), True)
    assert "capped at −57.50" in second.formula


@given(invoiced=st.decimals(0, 100000, places=2), shares=st.lists(st.fractions(0, 1), min_size=1, max_size=5),
       policy=st.sampled_from(list(RoundingPolicy)))
def test_credits_never_exceed_the_invoice(invoiced: Decimal, shares: list[Fraction], policy: RoundingPolicy) -> None:
    credited = Decimal(0)
    for share in shares:
        line = credit(invoiced, credited, share, "EUR", policy)
        assert line.amount.amount <= 0
        credited -= line.amount.amount
    assert credited <= invoiced
