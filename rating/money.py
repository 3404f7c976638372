"""Money: a ``Decimal`` amount that carries its ISO 4217 currency.

Why a type of its own: an amount without its currency is how invoices end up mixing EUR and USD, and a float is
how they end up a cent off. ``Money`` only ever holds an amount already rounded to the currency's minor unit
(rounding is the job of :mod:`rating.rounding`, in one place); unrounded values travel as exact ``Fraction`` s.

Minor units come from the ``iso4217`` package, which ships ISO 4217 list one as the maintenance agency publishes
it, so a new or changed currency arrives with a package update instead of an edit here. Its exponents are ISO's
own (EUR, USD, GBP, CHF, HUF 2; JPY, KRW, ISK, CLP, VND 0; BHD, KWD, JOD, OMR 3). Babel's CLDR data was not taken:
its ``get_currency_precision`` gives display digits, not ISO minor units, and differs for currencies a reseller
bills in (HUF 0 and IDR 0 where ISO says 2). A code outside list one, or one without a minor unit (XAU, XXX), is
refused rather than guessed, since a wrong exponent would shift every amount by powers of ten. The one exception
is ``WITHDRAWN_MINOR_UNITS``: codes ISO has withdrawn (list three) whose amounts a ledger still holds and corrects.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from iso4217 import Currency

# Withdrawn from ISO 4217 list one (Bulgaria adopted the euro on 2026-01-01); earlier invoices stay in BGN.
WITHDRAWN_MINOR_UNITS: dict[str, int] = {"BGN": 2}


@functools.cache  # called for every amount a month-end rates: the list is read once per currency
def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency`` (EUR → 2, JPY → 0, KWD → 3)."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        exponent = WITHDRAWN_MINOR_UNITS.get(currency)
    if exponent is None:
        raise ValueError(f"unknown currency {currency!r} (not an ISO 4217 code cspbill knows)")
    return exponent


@functools.cache
def minor_step(currency: str) -> Decimal:
    """The currency's minor unit as a quantize step (``Decimal('0.01')`` for EUR)."""
    return Decimal(1).scaleb(-minor_units(currency))


def as_text(amount: Decimal, currency: str) -> str:
    """An amount as text with the currency's minor digits (``471.50``; the ledger stores ``471.5``)."""
    return f"{amount:.{minor_units(currency)}f}"


def _same_currency(amount: Money, currency: str) -> None:
    if not isinstance(amount, Money):
        raise TypeError(f"cannot combine Money with {type(amount).__name__}")
    if amount.currency != currency:
        raise ValueError(f"cannot combine {currency} and {amount.currency}")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount at the currency's minor unit (e.g. ``Decimal('48.00')`` EUR) and its currency code."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")
        exact = self.amount.quantize(minor_step(self.currency), rounding=ROUND_DOWN)
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
        _same_currency(other, self.currency)

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
    """Sum of ``amounts``, all in ``currency`` (mixing currencies raises); zero when empty. The decimals are added
    first and made ``Money`` once (an invoice total adds every line of a build)."""
    values = list(amounts)
    for amount in values:
        _same_currency(amount, currency)
    return Money(sum([amount.amount for amount in values], Decimal(0)), currency)


def to_units(value: Decimal | str | int, decimals: int) -> int:
    """``value`` as an integer count of ``10**-decimals`` units, refusing anything that is not exact (a price with
    more decimals than the vectorised path carries would otherwise be silently rounded)."""
    scaled = Decimal(value).scaleb(decimals)
    if scaled != scaled.to_integral_value(rounding=ROUND_DOWN):
        raise ValueError(f"{value} has more than {decimals} decimals")
    return int(scaled)
