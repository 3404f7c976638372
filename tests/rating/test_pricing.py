"""The price book (list prices by date, fixed-price rules, cost plus markup), markup rule precedence, and recorded
exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from rating.pricing import (
    FixedPrice,
    FxRate,
    FxTable,
    ListPrice,
    MarkupRule,
    Markups,
    PriceBook,
    PricedCustomer,
    VendorCost,
    apply_markup,
)

BOOK = PriceBook(
    "de01",
    [
        ListPrice(1, "e3", "P1M", Decimal("33.70"), date(2026, 1, 1), date(2026, 3, 31)),
        ListPrice(2, "e3", "P1M", Decimal("36.00"), date(2026, 4, 1)),
        ListPrice(3, "e3", "P1M", Decimal("30.00"), date(2026, 1, 1), customer_id=7),
        ListPrice(4, "e3", "P1Y", Decimal("396.00"), date(2026, 1, 1)),
    ],
    [
        FixedPrice("price_rules[0]", Decimal("5.00"), product="teams", customer="ACME-1"),
        FixedPrice("price_rules[1]", Decimal("9.00"), tenant="at01", product="teams"),
        FixedPrice("price_rules[2]", Decimal("1.00"), product="teams", meter_category="Storage"),
    ],
    Markups((MarkupRule("price_rules[3]", Decimal("10"), tenant="de01"),)),
    [
        VendorCost(10, 100, "e5", Decimal("50.00"), date(2026, 1, 1)),
        VendorCost(11, 100, "e5", Decimal("52.00"), date(2026, 4, 1)),
        VendorCost(12, 100, "e5", Decimal("0"), date(2026, 5, 1)),
    ],
)
ACME = PricedCustomer(7, "Acme", "ACME-1")
ZETA = PricedCustomer(8, "Zeta", None)


@pytest.mark.parametrize(
    ("product", "customer", "billing", "on", "cost", "expected"),
    [
        ("e3", ZETA, "P1M", date(2026, 3, 31), None, ("33.70", "price_list_version 1 (from 2026-01-01)")),
        ("e3", ZETA, "P1M", date(2026, 4, 1), None, ("36.00", "price_list_version 2 (from 2026-04-01)")),
        ("e3", ACME, "P1M", date(2026, 4, 1), None, ("30.00", "price_list_version 3 (from 2026-01-01)")),
        ("e3", ZETA, "P1Y", date(2026, 4, 1), None, ("396.00", "price_list_version 4 (from 2026-01-01)")),
        ("teams", ACME, "P1M", date(2026, 4, 1), Decimal("4"), ("5.00", "price_rules[0] fixed 5.00")),
        ("teams", ZETA, "P1M", date(2026, 4, 1), Decimal("4"), ("4.4", "cost 4 (snapshot) + 10% (price_rules[3])")),
        ("teams", ZETA, "P1M", date(2026, 4, 1), None, None),
        ("e3", ZETA, "P1M", date(2025, 12, 31), None, None),
    ],
)
def test_price_book_resolution(product: str, customer: PricedCustomer, billing: str, on: date,
                               cost: Decimal | None, expected: tuple[str, str] | None) -> None:
    """A valid list price wins (the customer's own over the general one), then a fixed-price rule of the tenant
    (never a meter-category rule), then the cost plus the most specific markup; nothing prices it: ``None``."""
    price = BOOK.licence_price(product, customer, billing, on, cost)
    assert (None if price is None else (str(price.unit_price), price.label)) == expected


def test_price_book_without_markup_sells_at_cost_and_knows_price_changes() -> None:
    book = PriceBook("nl01", [], [], Markups())
    price = book.licence_price("e3", ZETA, "P1M", date(2026, 4, 1), Decimal("12.5"), "cost line 4")
    assert (price.unit_price, price.label) == (Decimal("12.5"), "cost 12.5 (cost line 4), no markup rule")
    assert BOOK.version_days("e3") == {date(2026, 1, 1), date(2026, 4, 1)}


def test_vendor_cost_is_the_latest_charge_on_or_before_the_day() -> None:
    assert BOOK.vendor_cost(100, "e5", date(2026, 3, 31)) == (Decimal("50.00"), "cost line 10")
    assert BOOK.vendor_cost(100, "e5", date(2026, 6, 1)) == (Decimal("52.00"), "cost line 11")  # zero ignored
    assert BOOK.vendor_cost(100, "e5", date(2025, 6, 1)) == (Decimal("50.00"), "cost line 10")  # first one
    assert BOOK.vendor_cost(100, "other", date(2026, 6, 1)) == (Decimal("52.00"), "cost line 11")  # any product
    assert BOOK.vendor_cost(999, "e5", date(2026, 6, 1)) is None


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
