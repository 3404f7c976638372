"""Money: a ``Decimal`` amount that carries its ISO 4217 currency.

Why a type of its own: an amount without its currency is how invoices end up mixing EUR and USD, and a float is
how they end up a cent off. ``Money`` only ever holds an amount already rounded to the currency's minor unit
(rounding is the job of :mod:`rating.rounding`, in one place); unrounded values travel as exact ``Fraction`` s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

# ISO 4217 minor-unit exponents of the currencies a CSP reseller meets; a currency missing here is refused
# rather than guessed (a wrong exponent would shift every amount by powers of ten).
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3,
    "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2,
    "RON": 2, "RSD": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2,
    "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip


def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency`` (EUR → 2, JPY → 0, KWD → 3)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r} (not an ISO 4217 code cspbill knows)") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount at the currency's minor unit (e.g. ``Decimal('48.00')`` EUR) and its currency code."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")
        step = Decimal(1).scaleb(-minor_units(self.currency))
        exact = self.amount.quantize(step, rounding=ROUND_DOWN)
        if exact != self.amount:
            raise ValueError(f"{self.amount} has more decimals than {self.currency} allows: round it first")
        object.__setattr__(self, "amount", exact)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.from_minor(0, currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """From integer minor units (cents): ``from_minor(4800, 'EUR')`` is 48.00 EUR."""
        return cls(Decimal(int(units)).scaleb(-minor_units(currency)), currency)

    def to_minor(self) -> int:
        """Integer minor units, exact because the amount is always at the minor unit."""
        return int(self.amount.scaleb(minor_units(self.currency)))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of ``amounts``, all in ``currency`` (mixing currencies raises); zero when empty."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def to_units(value: Decimal | str | int, decimals: int) -> int:
    """``value`` as an integer count of ``10**-decimals`` units, refusing anything that is not exact (a price with
    more decimals than the vectorised path carries would otherwise be silently rounded)."""
    scaled = Decimal(value).scaleb(decimals)
    if scaled != scaled.to_integral_value(rounding=ROUND_DOWN):
        raise ValueError(f"{value} has more than {decimals} decimals")
    return int(scaled)
