"""Lineage: what made a line, stored with it so "why is this line 31.25?" is answered without re-running anything.

It names the inputs exactly as the caller identified them (snapshot, mutation or usage-row ids), the price-list
version, the day-count convention, the formula, the exact unrounded amount and the rounding policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction

# Enough significant digits to show any unrounded amount far beyond the cent; the exact value is kept as n/d too.
_DISPLAY = Context(prec=28)


def format_unrounded(value: Fraction) -> str:
    """Plain decimal text of an exact amount: exact when it terminates within 28 digits (``48``, ``-40``,
    ``0.125``), else 28 significant digits; never exponent notation."""
    shown = _DISPLAY.divide(Decimal(value.numerator), Decimal(value.denominator))
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
        return {
            "input_ids": [item if isinstance(item, str) else int(item) for item in self.input_ids],
            "price_version": self.price_version,
            "convention": self.convention,
            "formula": self.formula,
            "unrounded": format_unrounded(self.unrounded),
            "unrounded_exact": f"{self.unrounded.numerator}/{self.unrounded.denominator}",
            "rounding": self.rounding,
            "details": dict(self.details),
        }
