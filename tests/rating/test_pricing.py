"""Price-list versions by date, markup rule precedence, and recorded exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from rating.pricing import FxRate, FxTable, MarkupRule, Markups, PriceList, PriceVersion, apply_markup

PRICES = PriceList([
    PriceVersion("pl-2026-01", date(2026, 1, 1), "EUR", {"e3": Decimal("33.70"), "e5": Decimal("54.70")}),
    PriceVersion("pl-2026-04", date(2026, 4, 1), "EUR", {"e3": Decimal("36.00")}),
])


def test_price_versions() -> None:
    assert PRICES.price("e3", date(2026, 3, 31)) == (Decimal("33.70"), PRICES.price("e5", date(2026, 5, 1))[1])
    price, version = PRICES.price("e3", date(2026, 4, 1))
    assert (price, version.version_id) == (Decimal("36.00"), "pl-2026-04")
    assert PRICES.price("e5", date(2026, 6, 1))[1].version_id == "pl-2026-01"
    with pytest.raises(KeyError):
        PRICES.price("e3", date(2025, 12, 31))


RULES = Markups((
    MarkupRule("tenant", Decimal("10"), tenant="de01"),
    MarkupRule("storage", Decimal("15"), meter_category="Storage"),
    MarkupRule("storage-new", Decimal("17"), meter_category="Storage", effective_from=date(2026, 6, 1)),
    MarkupRule("acme", Decimal("4"), customer="acme"),
    MarkupRule("other-tenant", Decimal("50"), tenant="at01", customer="acme"),
))


@pytest.mark.parametrize(
    ("customer", "category", "on", "expected"),
    [
        ("zeta", "Compute", date(2026, 5, 1), "tenant"),
        ("zeta", "Storage", date(2026, 5, 1), "storage"),
        ("zeta", "Storage", date(2026, 6, 1), "storage-new"),
        ("acme", "Storage", date(2026, 6, 1), "acme"),
    ],
)
def test_most_specific_markup_wins(customer: str, category: str, on: date, expected: str) -> None:
    rule = RULES.resolve("de01", customer, None, category, on)
    assert rule is not None and rule.rule_id == expected


def test_no_markup_and_exact_application() -> None:
    assert Markups().resolve("de01", "acme", None, None, date(2026, 1, 1)) is None
    assert apply_markup(Fraction(100), RULES.rules[1]) == Fraction(115)
    assert apply_markup(Fraction(3), None) == 3


def test_fx_lookup_records_source_and_date() -> None:
    table = FxTable([
        FxRate("microsoft-monthly", "USD", "EUR", Decimal("0.92"), date(2026, 4, 1)),
        FxRate("microsoft-monthly", "USD", "EUR", Decimal("0.93"), date(2026, 5, 1)),
    ])
    rate = table.rate("USD", "EUR", date(2026, 5, 31))
    assert rate.rate == Decimal("0.93") and rate.describe() == "USD->EUR 0.93 (microsoft-monthly, 2026-05-01)"
    assert rate.convert(Fraction(10)) == Fraction(93, 10)
    assert table.rate("EUR", "EUR", date(2026, 5, 31)).source == "identity"
    with pytest.raises(KeyError):
        table.rate("USD", "EUR", date(2026, 3, 31))
