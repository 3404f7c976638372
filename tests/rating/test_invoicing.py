"""Invoices: grouping, VAT per invoice per rate rounded half-up (BR-CO-17), reverse charge, no mixed currencies."""

from __future__ import annotations

from decimal import Decimal

from rating.invoicing import InvoiceLine, Split, VatCategory, VatTreatment, build_invoices
from rating.money import Money
from rating.vat import Buyer, determine_vat

STANDARD = VatTreatment(VatCategory.STANDARD, Decimal("7"))


def line(number: int, amount: str, currency: str = "EUR", customer: str = "acme", environment: str | None = None,
         vat=STANDARD) -> InvoiceLine:
    return InvoiceLine(("k", number), "de01", customer, f"line {number}", Money(Decimal(amount), currency), vat,
                       subscription=f"sub-{number % 2}", environment=environment)


def test_vat_is_computed_per_invoice_and_rate_not_per_line() -> None:
    # Per line 0.07 × 7 % = 0.0049 -> 0.00 each; per invoice 0.21 × 7 % = 0.0147 -> 0.01.
    [invoice] = build_invoices([line(1, "0.07"), line(2, "0.07"), line(3, "0.07")])
    assert invoice.net.amount == Decimal("0.21")
    subtotals = [(s.category, s.rate, str(s.vat.amount)) for s in invoice.vat]
    assert subtotals == [(VatCategory.STANDARD, Decimal("7"), "0.01")]
    assert invoice.gross.amount == Decimal("0.22")


def test_vat_rounds_half_up() -> None:
    [invoice] = build_invoices([line(1, "0.50")])  # 0.50 × 7 % = 0.035 -> 0.04
    assert invoice.vat_total.amount == Decimal("0.04")


def test_reverse_charge_for_intra_eu_business() -> None:
    reverse = determine_vat("DE", Buyer("FR", True, "FR40303265045"), Decimal("19"))
    assert (reverse.category, reverse.rate, reverse.exemption_reason) == ("AE", Decimal(0), "Reverse charge")
    assert determine_vat("DE", Buyer("FR", True, None), Decimal("19")).category == "S"
    [invoice] = build_invoices([line(1, "100.00", vat=reverse), line(2, "10.00")])
    assert [(s.category, str(s.taxable.amount), str(s.vat.amount)) for s in invoice.vat] == [
        ("AE", "100.00", "0.00"), ("S", "10.00", "0.70")]
    assert invoice.gross.amount == Decimal("110.70")


def test_never_mixes_currencies_and_splits_on_request() -> None:
    invoices = build_invoices([line(1, "1.00"), line(2, "2.00", currency="USD"), line(3, "3.00")])
    assert [(i.currency, str(i.net.amount)) for i in invoices] == [("EUR", "4.00"), ("USD", "2.00")]
    by_env = build_invoices([line(1, "1.00", environment="prod"), line(2, "2.00", environment="test"),
                             line(3, "3.00", environment="prod")], Split.ENVIRONMENT)
    assert [(i.split_value, str(i.net.amount), len(i.lines)) for i in by_env] == [("prod", "4.00", 2),
                                                                                 ("test", "2.00", 1)]
    by_sub = build_invoices([line(1, "1.00"), line(2, "2.00"), line(3, "3.00")], Split.SUBSCRIPTION)
    assert [i.split_value for i in by_sub] == ["sub-0", "sub-1"]
