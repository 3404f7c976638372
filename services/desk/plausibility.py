"""Plausibility of a seat change the desk enters, before any NCE rule is asked.

Why separate from the NCE rules: those say what the vendor allows; these catch what a person did not mean (a
20-digit seat count, an extra zero). A seat count must be a whole number from 0 to the product's maximum
(``desk.mutations`` in config.yaml), refused in plain words naming the field; a change above the configured jump is
allowed but must be confirmed by the person (the web form asks for a second submit). The same sentences serve the
web form, the CLI and the service, so nobody can save what the form would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from config.desk import MutationLimits

SEATS_FORMAT = "a whole number of seats such as 12"
NO_TICKET = "Enter the service-desk ticket that asked for this change (for example INC-1234)."
DIGITS = 20  # longer numbers are not read as seats at all (nor carried into the ledger's arithmetic)


def parse_seats(text: str | None, *, signed: bool = False) -> Decimal | None:
    """The seat count (or, ``signed``, the change like ``+3`` / ``-2``) a person typed; ``None`` when left empty.
    Raises ``ValueError`` with a plain sentence when it is not a whole number."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip().replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        wanted = "a change such as +3 or -2" if signed else SEATS_FORMAT
        raise ValueError(f"“{text.strip()}” is not a number: enter {wanted}.") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"Seats are whole numbers: “{text.strip()}” is not one.")
    if not signed and value < 0:
        raise ValueError("A seat count cannot be below 0; to remove seats enter the lower count.")
    if value and value.adjusted() >= DIGITS:
        raise ValueError(f"“{text.strip()}” has more digits than any seat count: check it for a typo.")
    return value.to_integral_value()


def seat_refusal(new_quantity: Decimal, maximum: int) -> str | None:
    """Why ``new_quantity`` seats cannot be saved (below 0, not whole, above the product's maximum), or ``None``."""
    if not new_quantity.is_finite() or new_quantity != new_quantity.to_integral_value():
        return f"Seats are whole numbers: {new_quantity} is not one."
    if new_quantity < 0:
        return f"This change would leave {new_quantity} seats; a subscription cannot have fewer than 0."
    if new_quantity > maximum:
        return (f"{new_quantity:,} seats is more than the {maximum:,} this product allows. Check the number for a "
                "typo; an administrator can raise desk.mutations.max_seats.")
    return None


@dataclass(frozen=True)
class Jump:
    """A seat change big enough that the person must confirm it, with the sentence that says why."""

    current: Decimal
    new: Decimal
    sentence: str


def big_jump(current: Decimal, new: Decimal, limits: MutationLimits) -> Jump | None:
    """A change by more than ``confirm_above_seats`` seats, or by more than ``confirm_above_percent`` of the current
    seats (from at least 1 seat), needs confirmation; ``None`` when it does not."""
    change = new - current
    over_seats = abs(change) > limits.confirm_above_seats
    over_percent = current > 0 and abs(change) * 100 > limits.confirm_above_percent * current
    if not (over_seats or over_percent):
        return None
    share = f" ({change * 100 / current:+.0f} %)" if current > 0 else ""
    return Jump(current, new, f"From {current} to {new} seats is a change of {change:+}{share}, more than "
                              f"{limits.confirm_above_percent:g} % or {limits.confirm_above_seats} seats. Check it, "
                              "then confirm.")
