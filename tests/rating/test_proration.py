"""The engine API the batch service uses: identities, lineage, timing, price policies, suspension, and credits
against already-invoiced lines (billing-rules.md §4.2)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

from rating.money import Money
from rating.periods import Convention, period_at
from rating.pricing import FxRate
from rating.proration import (
    Change,
    InvoicedLine,
    LineKey,
    LineKind,
    PricePolicy,
    SubscriptionTerms,
    Timing,
    Window,
    credit_invoiced,
    rate_subscription,
)
from rating.rounding import RoundingPolicy

MAY = Window(date(2026, 5, 1), date(2026, 5, 31))


def terms(**overrides: object) -> SubscriptionTerms:
    values: dict[str, object] = {
        "subscription_id": "sub-9", "currency": "EUR", "start": date(2026, 5, 1), "quantity": 3,
        "unit_price": Decimal("10.00"), "product": "m365-e3", "price_version": "pl-2026-05",
        "input_ids": ("snapshot:41",),
    }
    values.update(overrides)
    return SubscriptionTerms(**values)  # type: ignore[arg-type]


def amounts(lines: list) -> list[str]:
    return [str(line.amount.amount) for line in lines]


def test_identity_lineage_and_advance_bill_dates() -> None:
    lines = rate_subscription(terms(), [Change(date(2026, 5, 20), quantity=5, input_ids=("mutation:7",))], MAY,
                              Convention.MICROSOFT, RoundingPolicy.HALF_UP)
    assert [line.key.as_tuple() for line in lines] == [
        ("sub-9", "2026-05-01", "charge", "2026-05-01", 0),
        ("sub-9", "2026-05-01", "credit", "2026-05-20", 0),
        ("sub-9", "2026-05-01", "charge", "2026-05-20", 0),
    ]
    assert amounts(lines) == ["30.00", "-11.61", "19.35"]  # 3×10×12/31 = 11.6129; 5×10×12/31 = 19.3548
    assert [line.bill_date for line in lines] == [date(2026, 5, 1), date(2026, 5, 20), date(2026, 5, 20)]
    charge, credit, rebill = (line.lineage.to_dict() for line in lines)
    json.dumps([charge, credit, rebill])
    assert charge["input_ids"] == ["snapshot:41"] and charge["price_version"] == "pl-2026-05"
    assert credit["input_ids"] == ["mutation:7"]
    assert credit["details"]["credits"] == "sub-9/2026-05-01/charge/2026-05-01/0"
    assert rebill["input_ids"] == ["mutation:7", "snapshot:41"]
    assert rebill["unrounded_exact"] == "600/31" and rebill["rounding"] == "half_up"
    assert rebill["convention"] == "microsoft" and rebill["formula"] == "5 × 10.00 × 12/31"


def test_arrears_bills_after_the_period_with_the_same_amounts() -> None:
    change = [Change(date(2026, 5, 20), quantity=5)]
    advance = rate_subscription(terms(), change, MAY, Convention.ACTUAL, RoundingPolicy.TRUNCATE)
    arrears = rate_subscription(terms(timing=Timing.ARREARS), change, MAY, Convention.ACTUAL, RoundingPolicy.TRUNCATE)
    assert amounts(advance) == amounts(arrears)
    assert {line.bill_date for line in arrears} == {date(2026, 6, 1)}


def test_next_cycle_price_policy_moves_a_mid_period_price_change_to_the_next_period() -> None:
    change = [Change(date(2026, 5, 20), unit_price=Decimal("12.00"), price_version="pl-2026-06")]
    window = Window(date(2026, 5, 1), date(2026, 6, 30))
    lines = rate_subscription(terms(), change, window, Convention.MICROSOFT, RoundingPolicy.HALF_UP,
                              PricePolicy.NEXT_CYCLE)
    assert [(line.key.kind, str(line.amount.amount)) for line in lines] == [
        (LineKind.CHARGE, "30.00"), (LineKind.CHARGE, "36.00")]
    assert lines[1].lineage.price_version == "pl-2026-06"


def test_suspension_bills_only_when_the_terms_say_so() -> None:
    changes = [Change(date(2026, 5, 11), suspended=True), Change(date(2026, 5, 21), suspended=False)]
    nce = rate_subscription(terms(), changes, MAY, Convention.ACTUAL, RoundingPolicy.HALF_UP)
    assert amounts(nce) == ["30.00"]
    stopped = rate_subscription(terms(bills_when_suspended=False), changes, MAY, Convention.ACTUAL,
                                RoundingPolicy.HALF_UP)
    # 05-11..05-31 = 21 days credited (-20.32); 05-21..05-31 = 11 days rebilled (10.65)
    assert amounts(stopped) == ["30.00", "-20.32", "10.65"]


def test_renewal_is_named_in_lineage() -> None:
    lines = rate_subscription(terms(start=date(2026, 1, 1), term_months=1), [], Window(date(2026, 1, 1),
                              date(2026, 3, 31)), Convention.ACTUAL, RoundingPolicy.HALF_UP)
    assert [line.lineage.details["term"] for line in lines] == ["initial", "renewal 1", "renewal 2"]


def invoiced(amount: str, unrounded: Fraction, quantity: int = 2, price: str = "15.50") -> InvoicedLine:
    period = period_at(date(2026, 6, 1), 1, 0)
    key = LineKey("sub-3", period.start, LineKind.CHARGE, period.start)
    return InvoicedLine(key, period, period.end, quantity, Decimal(price), Fraction(1), unrounded,
                        Money(Decimal(amount), "EUR"), price_version="pl-1")


def test_credit_against_an_invoiced_line_is_capped_by_what_remains() -> None:
    line = invoiced("31.00", Fraction(31))
    credit = credit_invoiced(line, date(2026, 6, 16), Convention.ACTUAL, RoundingPolicy.HALF_UP)
    assert credit.amount.amount == Decimal("-15.50")  # -31 × 15/30
    capped = credit_invoiced(line, date(2026, 6, 16), Convention.ACTUAL, RoundingPolicy.HALF_UP,
                             credited_so_far=Money(Decimal("-20.00"), "EUR"), sequence=1)
    assert capped.amount.amount == Decimal("-11.00")
    assert capped.key.as_tuple() == ("sub-3", "2026-06-01", "credit", "2026-06-16", 1)
    assert "capped at -11.00" in capped.formula
    nothing_left = credit_invoiced(line, date(2026, 6, 16), Convention.ACTUAL, RoundingPolicy.HALF_UP,
                                   credited_so_far=Money(Decimal("-31.00"), "EUR"))
    assert nothing_left.amount.amount == Decimal("0.00")


def test_credit_uses_the_invoiced_amount_never_todays_price() -> None:
    # Invoiced with a markup (2 × 15.50 × 1.1 = 34.10): the credit is a share of that, whatever the price is now.
    line = invoiced("34.10", Fraction(3410, 100))
    credit = credit_invoiced(line, date(2026, 6, 21), Convention.MICROSOFT, RoundingPolicy.TRUNCATE)
    assert credit.amount.amount == Decimal("-11.36")  # -34.10 × 10/30 = -11.3666…
    assert credit.formula == "-34.1 × 10/30 ÷ 1"


def test_prices_in_another_currency_are_converted_unrounded_with_the_recorded_rate() -> None:
    rate = FxRate("microsoft-monthly", "USD", "EUR", Decimal("0.921734"), date(2026, 5, 1))
    lines = rate_subscription(terms(fx=rate), [Change(date(2026, 5, 20), quantity=5)], MAY, Convention.MICROSOFT,
                              RoundingPolicy.HALF_UP)
    # 3 × 10.00 × 0.921734 = 27.65202; credit -27.65202 × 12/31 = -10.7040…; rebill 5 × 10 × 12/31 × 0.921734 = 17.840…
    assert amounts(lines) == ["27.65", "-10.70", "17.84"]
    assert lines[0].formula == "3 × 10.00 × 31/31 × 0.921734"
    assert lines[0].lineage.details["fx"] == "USD->EUR 0.921734 (microsoft-monthly, 2026-05-01)"
    assert lines[1].formula == "-27.65202 × 12/31 ÷ 1"
