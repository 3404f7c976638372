"""Lineage: what made a line, stored with it so "why is this line 31.25?" is answered without re-running anything.

It names the inputs exactly as the caller identified them (snapshot, mutation or usage-row ids), the price-list
version, the day-count convention, the formula, the exact unrounded amount and the rounding policy.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction

# Enough significant digits to show any unrounded amount far beyond the cent; the exact value is kept as n/d too.
_DISPLAY = Context(prec=28)


def format_unrounded(value: Fraction) -> str:
    """Plain decimal text of an exact amount: exact when it terminates within 28 digits (``48``, ``-40``,
    ``0.125``), else 28 significant digits; never exponent notation."""
    return format_ratio(value.numerator, value.denominator)


def format_ratio(numerator: int, denominator: int) -> str:
    """:func:`format_unrounded` of ``numerator / denominator``, reduced or not (the quotient is correctly rounded,
    so the text depends on the value only), without building the ``Fraction``."""
    shown = _DISPLAY.divide(Decimal(numerator), Decimal(denominator))
    return format(_DISPLAY.normalize(shown), "f")


@dataclass(frozen=True)
class Lineage:
    """The inputs and the arithmetic behind one rated line."""

    input_ids: Sequence[str | int]
    price_version: str | None
    convention: str | None
    formula: str
    unrounded: Fraction
    rounding: str
    details: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable form (ids as given, amounts as text, the exact unrounded value as ``n/d``)."""
        return lineage_dict(self.input_ids, self.price_version, self.convention, self.formula, self.unrounded,
                            self.rounding, self.details)


def lineage_dict(input_ids: Sequence[str | int], price_version: str | None, convention: str | None, formula: str,
                 unrounded: Fraction, rounding: str, details: Mapping[str, str]) -> dict[str, object]:
    """:meth:`Lineage.to_dict` of these values, without the object: the vectorised engine writes a million."""
    text, exact = _unrounded_texts(unrounded.numerator, unrounded.denominator)
    return {
        "input_ids": [item if isinstance(item, str) else int(item) for item in input_ids],
        "price_version": price_version,
        "convention": convention,
        "formula": formula,
        "unrounded": text,
        "unrounded_exact": exact,
        "rounding": rounding,
        "details": dict(details),
    }


@functools.lru_cache(maxsize=65536)
def _unrounded_texts(numerator: int, denominator: int) -> tuple[str, str]:
    """Cached: a month's lines repeat few exact amounts (seats × price × days of a period)."""
    return format_unrounded(Fraction(numerator, denominator)), f"{numerator}/{denominator}"
