"""Money carries its currency and minor unit; rounding policies are explicit and symmetric in sign."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.money import Money, minor_units, to_units, total
from rating.rounding import RoundingPolicy, round_amount, round_quotient, round_ratio, round_ratio_array


@pytest.mark.parametrize(
    ("value", "policy", "expected"),
    [
        ("-5.806", RoundingPolicy.TRUNCATE, "-5.80"),
        ("5.809", RoundingPolicy.TRUNCATE, "5.80"),
        ("2.345", RoundingPolicy.HALF_UP, "2.35"),
        ("-2.345", RoundingPolicy.HALF_UP, "-2.35"),
        ("2.345", RoundingPolicy.HALF_EVEN, "2.34"),
        ("2.355", RoundingPolicy.HALF_EVEN, "2.36"),
        ("-2.345", RoundingPolicy.HALF_EVEN, "-2.34"),
        ("2.3449999", RoundingPolicy.HALF_UP, "2.34"),
    ],
)
def test_policies(value: str, policy: RoundingPolicy, expected: str) -> None:
    assert round_amount(Decimal(value), "EUR", policy) == Money(Decimal(expected), "EUR")


def test_exact_fractions_and_other_exponents() -> None:
    assert round_amount(Fraction(-2100, 31), "EUR", RoundingPolicy.HALF_UP).amount == Decimal("-67.74")
    assert round_amount(Fraction(5, 2), "JPY", RoundingPolicy.HALF_EVEN).amount == Decimal("2")
    assert round_amount(Fraction(12345, 10000), "KWD", RoundingPolicy.HALF_UP).amount == Decimal("1.235")
    assert [minor_units(code) for code in ("EUR", "JPY", "KWD")] == [2, 0, 3]


def test_vectorised_rounding_equals_scalar() -> None:
    numerators = np.arange(-60, 61, dtype=np.int64)
    for policy in RoundingPolicy:
        for denominator in (1, 2, 4, 7, 10):
            got = round_ratio_array(numerators, np.full_like(numerators, denominator), policy)
            assert got.tolist() == [round_ratio(int(n), denominator, policy) for n in numerators]


def test_money_rules() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more decimals"):
        Money(Decimal("1.005"), "EUR")
    with pytest.raises(ValueError, match="cannot combine EUR and USD"):
        Money(Decimal("1.00"), "EUR") + Money(Decimal("1.00"), "USD")
    with pytest.raises(ValueError, match="unknown currency"):
        Money(Decimal("1"), "EURO")
    assert Money(Decimal("48"), "EUR").amount.as_tuple().exponent == -2
    assert Money.from_minor(-4000, "EUR").amount == Decimal("-40.00")
    assert Money(Decimal("-40.00"), "EUR").to_minor() == -4000
    assert total([], "EUR") == Money.zero("EUR")


def test_to_units_is_exact() -> None:
    assert to_units("12.3456", 4) == 123456
    assert to_units(Decimal("0.00000001"), 8) == 1
    with pytest.raises(ValueError):
        to_units("0.123456789", 8)


# amounts up to 10**22 (Money holds 28 significant digits, minor units included; the ledger's columns 18 integer
# digits): a larger one is refused by Money whichever way it was rounded
@given(numerator=st.integers(-10**22, 10**22), denominator=st.integers(1, 10**20), factor=st.integers(1, 10**6),
       currency=st.sampled_from(["EUR", "JPY", "KWD"]), policy=st.sampled_from(list(RoundingPolicy)))
def test_a_ratio_rounds_by_its_value_reduced_or_not(numerator: int, denominator: int, factor: int, currency: str,
                                                    policy: RoundingPolicy) -> None:
    """round_amount and round_quotient scale the ratio without reducing it (no Fraction product per line): the
    rounded amount is the one of the reduced value, and the same for any representation of it."""
    value = Fraction(numerator, denominator)
    scaled = value * 10 ** minor_units(currency)
    reduced = round_ratio(scaled.numerator, scaled.denominator, policy)
    assert round_amount(value, currency, policy) == Money.from_minor(reduced, currency)
    assert round_quotient(numerator * factor, denominator * factor, currency, policy) == Money.from_minor(reduced,
                                                                                                         currency)
    assert round_ratio(numerator * factor * 10 ** minor_units(currency), denominator * factor, policy) == reduced
