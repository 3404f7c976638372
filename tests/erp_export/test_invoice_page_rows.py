"""The readable invoice's licence rows: a seat change's charge and credit over the same stretch are one row with the
seats before and after and the summed amount; everything else stays a row of its own; rows add up to the lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from erp_export.documents import InvoiceLine
from erp_export.invoice_page import licence_rows

E3 = "Example 365 E3 (CFQ7TTC0SBX5)"


def _line(key: str, quantity: str, amount: str, start: str = "2026-10-02", item: str | None = E3,
          price: str = "3.2267") -> InvoiceLine:
    return InvoiceLine(key=key, description=f"line {key}", quantity=Decimal(quantity), unit_price=Decimal(price),
                       net_amount=Decimal(amount), vat_category="S", vat_rate=Decimal(21),
                       period_start=date.fromisoformat(start), period_end=date(2026, 10, 24), account="8000",
                       days="23/30", item=item, list_price=Decimal("3.22") if item else None)


CASES = [
    ("seat change 9 -> 10 is one row", False, [_line("a", "10", "24.69"), _line("b", "-9", "-22.22")],
     [(f"{E3}: seats changed", "9 → 10", Decimal("3.22"), Decimal("2.47"))]),
    ("in a credit note the signs are turned", True, [_line("a", "-10", "-24.69"), _line("b", "9", "22.22")],
     [(f"{E3}: seats changed", "9 → 10", Decimal("3.22"), Decimal("-2.47"))]),
    ("different stretches stay apart", False, [_line("a", "10", "24.69"), _line("b", "-9", "-19.32", "2026-10-05")],
     [("line a", "10", Decimal("3.2267"), Decimal("24.69")), ("line b", "-9", Decimal("3.2267"), Decimal("-19.32"))]),
    ("a line without a subscription stays as it is", False,
     [_line("a", "1", "5.00", item=None, price="5"), _line("b", "1", "6.00", item=None, price="6")],
     [("line a", "1", Decimal("5"), Decimal("5.00")), ("line b", "1", Decimal("6"), Decimal("6.00"))]),
]


@pytest.mark.parametrize(("name", "credit_note", "lines", "expected"), CASES, ids=[c[0] for c in CASES])
def test_licence_rows(name: str, credit_note: bool, lines: list[InvoiceLine],
                      expected: list[tuple[str, str, Decimal, Decimal]]) -> None:
    rows = licence_rows(lines, credit_note)
    assert [(r.description, r.seats, r.unit_price, r.net_amount) for r in rows] == expected
    assert sum(r.net_amount for r in rows) == sum(line.net_amount for line in lines)
