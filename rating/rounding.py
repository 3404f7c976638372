"""Named rounding policies, applied in this one place, once per line.

Every amount is computed exactly (``Fraction`` or integer ratios) and rounded here to the currency's minor unit by
the tenant's named policy, never by a context default (Python's ``decimal`` defaults to half-even, which is how
silent cent differences start). The integer core serves both the scalar engine and the vectorised paths, so they
cannot disagree.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

import numpy as np

from rating.money import Money, minor_units


class RoundingPolicy(StrEnum):
    """``truncate`` toward zero, ``half_up`` ties away from zero, ``half_even`` ties to the even digit."""

    TRUNCATE = "truncate"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


def round_ratio(numerator: int, denominator: int, policy: RoundingPolicy) -> int:
    """``numerator / denominator`` rounded to an integer by ``policy``; the sign is handled symmetrically."""
    if denominator == 0:
        raise ZeroDivisionError("rounding a ratio with denominator 0")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    whole, rest = divmod(abs(numerator), denominator)
    if policy is RoundingPolicy.HALF_UP:
        whole += 2 * rest >= denominator
    elif policy is RoundingPolicy.HALF_EVEN:
        whole += 2 * rest > denominator or (2 * rest == denominator and whole % 2 == 1)
    return -whole if numerator < 0 else whole


def round_ratio_array(numerators: np.ndarray, denominators: np.ndarray, policy: RoundingPolicy) -> np.ndarray:
    """Vectorised :func:`round_ratio` on integer arrays (denominators > 0); same results element by element.

    Works on ``int64`` and on ``object`` arrays of Python ints (the overflow-safe fallback of the bulk paths).
    """
    magnitude = np.abs(numerators)
    whole, rest = magnitude // denominators, magnitude % denominators
    if policy is RoundingPolicy.HALF_UP:
        whole = whole + (2 * rest >= denominators)
    elif policy is RoundingPolicy.HALF_EVEN:
        twice = 2 * rest
        whole = whole + ((twice > denominators) | ((twice == denominators) & (whole % 2 == 1)))
    return np.where(numerators < 0, -whole, whole)


def round_amount(value: Fraction | Decimal | int, currency: str, policy: RoundingPolicy) -> Money:
    """Round an exact amount once to ``currency``'s minor unit by ``policy``."""
    exact = value if isinstance(value, Fraction) else Fraction(value)
    return round_quotient(exact.numerator, exact.denominator, currency, policy)


def round_quotient(numerator: int, denominator: int, currency: str, policy: RoundingPolicy) -> Money:
    """:func:`round_amount` of ``numerator / denominator``, reduced or not: the ratio is scaled to minor units
    without a ``Fraction`` (whose products reduce by two gcds each: a month-end build rounds hundreds of thousands
    of amounts), and the rounded result depends on the value only."""
    return Money.from_minor(round_ratio(numerator * 10 ** minor_units(currency), denominator, policy), currency)
