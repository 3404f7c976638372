"""The plausibility rules of a seat change, table-driven: what a person may type, the seat maximum per product and
when a jump needs confirming (``desk.mutations`` in config.yaml)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.desk import MutationLimits
from services.desk.plausibility import big_jump, parse_seats, seat_refusal

D = Decimal
LIMITS = MutationLimits(max_seats_per_product={"CFQ7TTC0LH18": 300})


@pytest.mark.parametrize(("text", "signed", "expected"), [
    ("", False, None),
    ("  ", True, None),
    ("12", False, D(12)),
    (" 1 200 ", False, D(1200)),
    ("0", False, D(0)),
    ("12.0", False, D(12)),
    ("+3", True, D(3)),
    ("-2", True, D(-2)),
    ("12345678901234567890", False, D(12345678901234567890)),  # parsed; the maximum refuses it
])
def test_what_a_person_types_is_read_as_seats(text: str, signed: bool, expected: Decimal | None) -> None:
    assert parse_seats(text, signed=signed) == expected


@pytest.mark.parametrize(("text", "signed", "sentence"), [
    ("1.5", False, "Seats are whole numbers: “1.5” is not one."),
    ("twelve", False, "“twelve” is not a number: enter a whole number of seats such as 12."),
    ("three", True, "“three” is not a number: enter a change such as +3 or -2."),
    ("-3", False, "A seat count cannot be below 0; to remove seats enter the lower count."),
    ("NaN", False, "Seats are whole numbers: “NaN” is not one."),
    ("Infinity", True, "Seats are whole numbers: “Infinity” is not one."),
    ("1e400", False, "“1e400” has more digits than any seat count: check it for a typo."),
    ("-123456789012345678901", True, "“-123456789012345678901” has more digits than any seat count"),
])
def test_what_cannot_be_seats_is_refused_in_plain_words(text: str, signed: bool, sentence: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_seats(text, signed=signed)
    assert str(refused.value).startswith(sentence)


@pytest.mark.parametrize(("seats", "products", "refusal"), [
    (D(10_000), ("Microsoft 365 E3",), None),
    (D(10_001), ("Microsoft 365 E3",), "10,001 seats is more than the 10,000 this product allows."),
    (D(300), ("CFQ7TTC0LH18", "Microsoft 365 E3"), None),
    (D(301), ("CFQ7TTC0LH18", "Microsoft 365 E3"), "301 seats is more than the 300 this product allows."),
    (D(301), (None, "CFQ7TTC0LH18"), "301 seats is more than the 300 this product allows."),
    (D(12345678901234567890), ("x",), "12,345,678,901,234,567,890 seats is more than the 10,000"),
    (D(0), ("x",), None),
    (D(-1), ("x",), "This change would leave -1 seats; a subscription cannot have fewer than 0."),
    (D("2.5"), ("x",), "Seats are whole numbers: 2.5 is not one."),
])
def test_the_seat_maximum_is_per_product_with_a_default(seats: Decimal, products: tuple, refusal: str | None) -> None:
    found = seat_refusal(seats, LIMITS.max_for(*products))
    assert found == refusal if refusal is None else found.startswith(refusal)


@pytest.mark.parametrize(("current", "new", "needs"), [
    (D(10), D(15), False),    # +50 %: not more than 50 %
    (D(10), D(16), True),     # +60 %
    (D(10), D(4), True),      # -60 %: a big cut is checked too
    (D(10), D(5), False),
    (D(400), D(500), False),  # +100 seats, +25 %
    (D(400), D(501), True),   # +101 seats
    (D(0), D(100), False),    # from nothing: only the seat rule applies
    (D(0), D(101), True),
    (D(1), D(2), True),       # +100 % of one seat
])
def test_a_jump_above_the_configured_share_or_seats_needs_confirming(current: Decimal, new: Decimal,
                                                                     needs: bool) -> None:
    assert (big_jump(current, new, LIMITS) is not None) is needs


def test_the_jump_sentence_says_from_to_and_by_how_much() -> None:
    assert big_jump(D(12), D(400), LIMITS).sentence == (
        "From 12 to 400 seats is a change of +388 (+3233 %), more than 50 % or 100 seats. Check it, then confirm.")


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_a_jump_is_confirmed_exactly_when_over_either_threshold(current: int, new: int) -> None:
    change = abs(new - current)
    expected = change > 100 or (current > 0 and change * 100 > 50 * current)
    assert (big_jump(D(current), D(new), LIMITS) is not None) is expected
