"""The price book (versioned rules: fixed prices and percentages on cost, list or ERP price; Microsoft's list;
editions), markup rule precedence, and recorded exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from rating.pricing import (
    Basis,
    FixedPrice,
    FxRate,
    FxTable,
    Licence,
    ListPrice,
    MarkupRule,
    Markups,
    PriceBook,
    PricedCustomer,
    VendorCost,
    Versioned,
    apply_markup,
)

ACME = PricedCustomer(7, "Acme", "ACME-1")
ZETA = PricedCustomer(8, "Zeta", None)
BOOK = PriceBook(
    "de01",
    fixed=[
        FixedPrice("rule 1", Decimal("5.00"), product="teams", customer="ACME-1", seq=1),
        FixedPrice("rule 2", Decimal("9.00"), tenant="at01", product="teams", seq=2),
        FixedPrice("rule 3", Decimal("1.00"), product="teams", meter_category="Storage", seq=3),
        FixedPrice("rule 4", Decimal("7.00"), product="e3", currency="USD", seq=4),
    ],
    markups=Markups((
        MarkupRule("rule 5", Decimal("10"), tenant="de01", seq=5),
        MarkupRule("rule 6", Decimal("-5"), product="e3", basis=Basis.ERP, seq=6,
                   version=Versioned(date(2026, 1, 1), date(2026, 3, 31), edition=1)),
        MarkupRule("rule 7", Decimal("-8"), product="e3", basis=Basis.ERP, seq=7,
                   version=Versioned(date(2026, 4, 1), edition=1)),
        MarkupRule("rule 8", Decimal("2"), product="e3", customer="Acme", basis=Basis.LIST, seq=8,
                   version=Versioned(date(2026, 1, 1), edition=2)),
    )),
    list_prices=[
        ListPrice(11, "E3:0001", "P1M", "P1M", "EUR", Decimal("30.00"), Decimal("36.00"), Versioned(date(2026, 1, 1))),
        ListPrice(12, "E3:0001", "P1M", "P1M", "EUR", Decimal("31.00"), Decimal("38.00"), Versioned(date(2026, 4, 1))),
        ListPrice(13, "E3:0001", "P1Y", "P1Y", "EUR", Decimal("300"), Decimal("360.00"), Versioned(date(2026, 1, 1))),
    ],
    costs=[
        VendorCost(10, 100, "e5", Decimal("50.00"), date(2026, 1, 1)),
        VendorCost(11, 100, "e5", Decimal("52.00"), date(2026, 4, 1)),
        VendorCost(12, 100, "e5", Decimal("0"), date(2026, 5, 1)),
    ],
)


def e3(customer: PricedCustomer, billing: str = "P1M", currency: str = "EUR") -> Licence:
    return Licence("e3", customer, billing, currency, billing, ("E3:0001",))


def teams(customer: PricedCustomer) -> Licence:
    return Licence("teams", customer, "P1M", "EUR", "P1M")


@pytest.mark.parametrize(
    ("licence", "on", "cost", "edition", "expected"),
    [
        (e3(ZETA), date(2026, 3, 31), None, None, ("34.20", "erp price 36.00 (list price 11) + -5% (rule 6)")),
        (e3(ZETA), date(2026, 4, 1), None, None, ("34.96", "erp price 38.00 (list price 12) + -8% (rule 7)")),
        (e3(ZETA, "P1Y"), date(2026, 4, 1), None, None, ("331.20", "erp price 360.00 (list price 13) + -8% (rule 7)")),
        (e3(ACME), date(2026, 4, 1), None, None, ("31.62", "list price 31.00 (list price 12) + 2% (rule 8)")),
        (e3(ACME), date(2026, 4, 1), None, 1, ("34.96", "erp price 38.00 (list price 12) + -8% (rule 7)")),
        (e3(ZETA), date(2026, 4, 1), None, 0, None),
        (e3(ZETA, currency="USD"), date(2026, 4, 1), None, None, ("7.00", "rule 4 fixed 7.00")),
        (teams(ACME), date(2026, 4, 1), Decimal("4"), None, ("5.00", "rule 1 fixed 5.00")),
        (teams(ZETA), date(2026, 4, 1), Decimal("4"), None, ("4.4", "cost 4 (snapshot) + 10% (rule 5)")),
        (teams(ZETA), date(2026, 4, 1), None, None, None),
        (e3(ZETA), date(2025, 12, 31), None, None, None),
    ],
)
def test_price_book_resolution(licence: Licence, on: date, cost: Decimal | None, edition: int | None,
                               expected: tuple[str, str] | None) -> None:
    """The most specific rule wins (customer over product over tenant; fixed before a percentage), a percentage on
    Microsoft's list or ERP price needs a list row of the licence's term, billing and currency, a rule for a meter
    category or another tenant never prices a licence, and an edition reads only the rules it knew."""
    price = BOOK.licence_price(licence, on, cost, edition=edition)
    wanted = None if expected is None else (Decimal(expected[0]), expected[1])
    assert (None if price is None else (price.unit_price, price.label)) == wanted


def test_a_book_remembers_which_rule_prices_a_licence_not_the_price_of_one_cost() -> None:
    """One book prices a million licences and remembers which rule applies per licence terms, day and edition; the
    customer counts where a rule names one; the price of a markup on a cost is worked out for each cost and source."""
    asked = [(teams(ZETA), Decimal("4"), "snapshot 1"), (teams(ZETA), Decimal("6"), "snapshot 2"),
             (teams(ACME), Decimal("6"), "snapshot 3"), (teams(ZETA), None, ""), (e3(ZETA), None, ""),
             (e3(ACME), None, ""), (e3(ZETA), None, "")]
    found = [BOOK.licence_price(licence, date(2026, 4, 1), cost, source) for licence, cost, source in asked]
    assert [(price.unit_price, price.label) if price else None for price in found] == [
        (Decimal("4.4"), "cost 4 (snapshot 1) + 10% (rule 5)"), (Decimal("6.6"), "cost 6 (snapshot 2) + 10% (rule 5)"),
        (Decimal("5.00"), "rule 1 fixed 5.00"), None,
        (Decimal("34.96"), "erp price 38.00 (list price 12) + -8% (rule 7)"),
        (Decimal("31.62"), "list price 31.00 (list price 12) + 2% (rule 8)"),
        (Decimal("34.96"), "erp price 38.00 (list price 12) + -8% (rule 7)")]


def test_price_book_without_rules_sells_at_cost_and_knows_price_changes() -> None:
    book = PriceBook("nl01")
    price = book.licence_price(e3(ZETA), date(2026, 4, 1), Decimal("12.5"), "cost line 4")
    assert (price.unit_price, price.label) == (Decimal("12.5"), "cost 12.5 (cost line 4), no markup rule")
    assert BOOK.version_days(e3(ZETA)) == {date(2026, 1, 1), date(2026, 4, 1)}


def test_a_later_edition_replaces_a_rule_for_the_days_it_covers_and_a_retired_rule_is_gone() -> None:
    old = MarkupRule("old", Decimal("10"), version=Versioned(date(2026, 1, 1), edition=1, retired=3), seq=1)
    new = MarkupRule("new", Decimal("12"), version=Versioned(date(2026, 1, 1), edition=3), seq=2)
    book = PriceBook("nl01", markups=Markups((old, new)))
    licence = teams(ZETA)
    assert book.licence_price(licence, date(2026, 5, 1), Decimal(100), edition=2).label.endswith("(old)")
    assert book.licence_price(licence, date(2026, 5, 1), Decimal(100), edition=3).label.endswith("(new)")
    assert book.licence_price(licence, date(2026, 5, 1), Decimal(100)).unit_price == Decimal(112)
    assert Markups((old, new)).known_at(2).rules == (old,)


def test_microsoft_overlapping_rows_the_later_start_wins() -> None:
    """Microsoft documents that its list can repeat a SKU with overlapping dates; the later start holds."""
    rows = [ListPrice(1, "X:1", "P1M", "P1M", "EUR", Decimal("10"), Decimal("12"), Versioned(date(2026, 1, 1))),
            ListPrice(2, "X:1", "P1M", "P1M", "EUR", Decimal("11"), Decimal("13"),
                      Versioned(date(2026, 2, 1), date(2026, 2, 28)))]
    book = PriceBook("nl01", list_prices=rows)
    licence = Licence("X", ZETA, "P1M", "EUR", "P1M", ("X:1",))
    assert [book.list_price(licence, day, None).row_id
            for day in (date(2026, 1, 31), date(2026, 2, 1), date(2026, 3, 1))] == [1, 2, 1]


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


@pytest.mark.parametrize("start, end, whole", [
    (date(2026, 9, 11), date(2026, 10, 10), True),  # a monthly cycle
    (date(2026, 10, 11), date(2027, 10, 10), True),  # an annual term
    (date(2026, 1, 31), date(2026, 2, 27), True),  # anchored on the 31st: the next cycle starts on 28 February
    (date(2026, 10, 2), date(2026, 10, 10), False),  # seats added mid-cycle, charged to its end
    (date(2026, 10, 2), date(2027, 3, 10), False),
    (date(2026, 10, 2), None, True),  # the source gives no end: taken as a full charge, as before
])
def test_whole_cycles(start: date, end: date | None, whole: bool) -> None:
    assert VendorCost(1, 1, "e3", Decimal("1"), start, end).whole_cycles is whole


def test_vendor_cost_skips_a_prorated_mid_cycle_charge() -> None:
    """Partner Center charges 3 seats added on 2 October at 9.96 for 2..10 October of a 33.20 month: the cost per
    billing period stays 33.20 until the next whole-cycle charge."""
    book = PriceBook("nl01", costs=[
        VendorCost(1, 7, "e3", Decimal("33.20"), date(2026, 9, 11), date(2026, 10, 10)),
        VendorCost(11, 7, "e3", Decimal("9.96"), date(2026, 10, 2), date(2026, 10, 10)),
        VendorCost(76, 7, "e3", Decimal("34.00"), date(2026, 10, 11), date(2026, 11, 10))])
    assert book.vendor_cost(7, "e3", date(2026, 10, 3)) == (Decimal("33.20"), "cost line 1")
    assert book.vendor_cost(7, "e3", date(2026, 10, 12)) == (Decimal("34.00"), "cost line 76")
    only_partial = PriceBook("nl01", costs=[VendorCost(11, 7, "e3", Decimal("9.96"), date(2026, 10, 2),
                                                       date(2026, 10, 10))])
    assert only_partial.vendor_cost(7, "e3", date(2026, 10, 3)) == (Decimal("9.96"), "cost line 11")


def test_a_book_with_rules_for_many_products_prices_each_licence_by_its_own_in_priority_order() -> None:
    """Each product's rules are looked up once per book; the order among them (customer before product before
    everyone, fixed before markup) and the rules for every product still apply."""
    others = [FixedPrice(f"other {n}", Decimal("99"), product=f"P-{n}") for n in range(50)]
    book = PriceBook("nl-bv", fixed=[*others, FixedPrice("e3 for Acme", Decimal("20"), customer="Acme", product="e3")],
                     markups=Markups((MarkupRule("all", Decimal("10")), MarkupRule("e3", Decimal("5"), product="e3"))))
    day, cost = date(2026, 5, 1), Decimal("10")

    def price(product: str, customer: str) -> str | None:
        found = book.licence_price(Licence(product, PricedCustomer(1, customer, None), "P1M", "EUR"), day, cost)
        return None if found is None else f"{found.unit_price} {found.label}"

    assert price("e3", "Acme") == "20 e3 for Acme fixed 20"
    assert price("e3", "Beta") == "10.5 cost 10 (snapshot) + 5% (e3)"
    assert price("P-7", "Beta") == "99 other 7 fixed 99"
    assert price("m365", "Beta") == "11 cost 10 (snapshot) + 10% (all)"
