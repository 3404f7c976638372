"""One-time purchases: charged once, never prorated; a refund credits the purchase, never more than was billed.

Why rules of their own: a one-time fee has no period to prorate (billing-rules.md §4.1, "fixed fees are never
prorated"), and a refund is not re-priced: it takes the share of the vendor's charge the vendor refunded and applies
it to what the customer was invoiced for that purchase (§4.2, credits come from what was invoiced, capped). The
share is the vendor's refunded cost over its charged cost when both are known, else refunded over bought quantity,
so a prorated reservation refund and a returned software licence follow the same rule.

Everything is exact (``Fraction``) until the one rounding per line by the tenant's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rating.lineage import format_unrounded
from rating.money import Money
from rating.rounding import RoundingPolicy, round_amount


@dataclass(frozen=True, slots=True)
class OneTimeCharge:
    """The charge of one purchase: ``quantity × unit_price``, rounded once."""

    amount: Money
    unrounded: Fraction
    formula: str


@dataclass(frozen=True, slots=True)
class OneTimeCredit:
    """The (negative) credit of one refund against a purchase, after the cap."""

    amount: Money
    unrounded: Fraction
    share: Fraction
    capped: bool
    formula: str


def charge(quantity: Decimal, unit_price: Decimal, currency: str, rounding: RoundingPolicy) -> OneTimeCharge:
    """A purchase of ``quantity`` units at the sell ``unit_price``: no day count, no proration."""
    exact = Fraction(quantity) * Fraction(unit_price)
    amount = round_amount(exact, currency, rounding)
    return OneTimeCharge(amount, exact, f"{quantity} × {unit_price} = {format_unrounded(exact)}")


def refund_share(refunded_cost: Decimal | None, charged_cost: Decimal | None, refunded_quantity: Decimal,
                 bought_quantity: Decimal) -> Fraction:
    """The part of the purchase the vendor refunded, in ``[0, 1]``: by cost when both costs are known and the
    charge is not zero, else by quantity (nothing bought: nothing to refund)."""
    if refunded_cost is not None and charged_cost:
        share = abs(Fraction(refunded_cost)) / abs(Fraction(charged_cost))
    elif bought_quantity:
        share = abs(Fraction(refunded_quantity)) / abs(Fraction(bought_quantity))
    else:
        share = Fraction(0)
    return min(max(share, Fraction(0)), Fraction(1))


def credit(invoiced: Decimal, already_credited: Decimal, share: Fraction, currency: str,
           rounding: RoundingPolicy) -> OneTimeCredit:
    """``−share × invoiced``, capped so that all credits on the purchase never exceed what was invoiced for it.

    ``invoiced`` is the purchase's invoiced (rounded) amount, ``already_credited`` the positive sum of earlier
    credits on it. The cap applies to the rounded amount, so cent rounding cannot push the total past the invoice.
    """
    exact = -share * Fraction(invoiced)
    amount = round_amount(exact, currency, rounding)
    room = max(Decimal(invoiced) - Decimal(already_credited), Decimal(0))
    capped = -amount.amount > room
    if capped:
        amount = Money(-room, currency)
        exact = Fraction(-room)
    formula = f"−{format_unrounded(share)} (refunded share) × {invoiced} (invoiced)"
    formula += f" = {format_unrounded(-share * Fraction(invoiced))}"
    if capped:
        formula += f", capped at −{room} (invoiced {invoiced} − credited {already_credited})"
    return OneTimeCredit(amount, exact, share, capped, formula)
