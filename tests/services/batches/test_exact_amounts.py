"""The exact amounts a line stores (``services.batches.lines``): a ratio stores the same ``Decimal`` reduced or not,
so the usage path may divide without building a ``Fraction`` per line."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.batches.lines import exact_decimal, exact_ratio
from services.batches.usage import _unit_price


@given(numerator=st.integers(-10**17, 10**17), denominator=st.integers(1, 10**12), factor=st.integers(1, 10**9),
       negative=st.booleans())
def test_a_ratio_stores_its_value(numerator: int, denominator: int, factor: int, negative: bool) -> None:
    sign = -1 if negative else 1
    assert exact_ratio(sign * numerator * factor, sign * denominator * factor) == exact_decimal(
        Fraction(numerator, denominator))


@given(numerator=st.integers(-10**15, 10**15), denominator=st.integers(1, 10**9),
       quantity=st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False))
def test_a_unit_price_is_the_amount_over_the_quantity(numerator: int, denominator: int, quantity: Decimal) -> None:
    """Same value, or the same refusal for one beyond the column (18 digits before the point)."""
    unrounded = Fraction(numerator, denominator)
    assert _outcome(lambda: _unit_price(unrounded, quantity)) == _outcome(
        lambda: exact_decimal(unrounded / Fraction(quantity)) if quantity else Decimal(0))


def _outcome(compute: Callable[[], Decimal]) -> Decimal | type[Exception]:
    try:
        return compute()
    except InvalidOperation:
        return InvalidOperation
