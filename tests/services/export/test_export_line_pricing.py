"""Lines go to the ERP and e-invoice so that quantity × unit price rounds to the billed amount (PEPPOL-EN16931-R120)
with a non-negative net price (BR-27), whatever proration or credit produced them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.models import InvoiceLine
from services.export import document_quantity_and_price


def _line(quantity: str, unit_price: str, amount: str, currency: str = "EUR") -> InvoiceLine:
    return InvoiceLine(quantity=Decimal(quantity), unit_price=Decimal(unit_price), amount=Decimal(amount),
                       currency=currency)


CASES = [
    ("whole period", _line("12", "34.96", "419.52"), (Decimal("12"), Decimal("34.96"))),
    ("prorated 5/30", _line("12", "34.96", "69.92"), (Decimal("12"), Decimal("5.827"))),
    ("credit", _line("10", "34.96", "-58.27"), (Decimal("-10"), Decimal("5.827"))),
    ("rounds to the amount as it is", _line("3", "10.555", "31.67"), (Decimal("3"), Decimal("10.555"))),
    ("usage, quantity 1", _line("1", "17.126", "17.12"), (Decimal("1"), Decimal("17.12"))),
    ("no quantity", _line("0", "0", "3.10"), (Decimal("1"), Decimal("3.10"))),
    ("three-decimal currency", _line("3", "1.0005", "3.002", "KWD"), (Decimal("3"), Decimal("1.0005"))),
    ("three-decimal, prorated", _line("3", "1.0005", "1.001", "KWD"), (Decimal("3"), Decimal("0.3337"))),
    ("converted price, shortest that gives the amount", _line("5", "12.31612855", "61.58"),
     (Decimal("5"), Decimal("12.316"))),
    ("prorated, as few decimals as the amount allows", _line("40", "3.22", "98.75"),
     (Decimal("40"), Decimal("2.4688"))),
]


@pytest.mark.parametrize(("name", "line", "expected"), CASES, ids=[c[0] for c in CASES])
def test_quantity_and_price(name: str, line: InvoiceLine, expected: tuple[Decimal, Decimal]) -> None:
    assert document_quantity_and_price(line) == expected


@given(
    seats=st.integers(min_value=1, max_value=5000),
    cents=st.integers(min_value=-10_000_000, max_value=10_000_000),
)
def test_quantity_times_price_rounds_to_the_amount(seats: int, cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    quantity, price = document_quantity_and_price(_line(str(seats), "1", str(amount)))
    assert price >= 0
    assert (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP) == amount
    assert -price.as_tuple().exponent <= 6
