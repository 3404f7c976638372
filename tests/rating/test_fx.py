"""Exchange rates in the rating core: inverse and cross rates exact from EUR-based rows, the rate-date rule, and
charges and credits of a foreign-currency subscription (plain data, no ledger)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.fx import FxConversion, FxRate, FxRateDate, FxTable, MissingRate
from rating.periods import Convention
from rating.proration import Change, SubscriptionTerms, Window, rate_subscription
from rating.proration.lines import LineKind
from rating.rounding import RoundingPolicy

ECB = [FxRate("ECB", "EUR", "USD", Decimal("1.0834"), date(2026, 10, 1)),
       FxRate("ECB", "EUR", "GBP", Decimal("0.84638"), date(2026, 10, 1)),
       FxRate("ECB", "EUR", "USD", Decimal("1.0902"), date(2026, 10, 2)),
       FxRate("ECB", "EUR", "GBP", Decimal("0.85011"), date(2026, 10, 2)),
       FxRate("ECB", "EUR", "USD", Decimal("1.1010"), date(2026, 10, 30)),
       FxRate("ECB", "EUR", "USD", Decimal("1.0950"), date(2026, 10, 19))]
TABLE = FxTable(ECB)

rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4, allow_nan=False,
                    allow_infinity=False).filter(lambda d: d > 0)
values = st.fractions(min_value=-10**9, max_value=10**9, max_denominator=10**8)


def test_published_inverse_and_cross_rates_read_as_published_numbers() -> None:
    on = date(2026, 10, 1)
    assert TABLE.rate("EUR", "USD", on).describe() == "EUR->USD 1.0834 (ECB, 2026-10-01)"
    assert TABLE.rate("USD", "EUR", on).describe() == "USD->EUR 1/1.0834 (ECB, 2026-10-01)"
    assert TABLE.rate("USD", "GBP", on).describe() == "USD->GBP 0.84638/1.0834 (ECB, 2026-10-01)"
    assert TABLE.rate("USD", "EUR", on).exact == Fraction(10000, 10834)
    assert TABLE.rate("USD", "GBP", on).exact == Fraction(84638, 100000) / Fraction(10834, 10000)
    assert TABLE.rate("EUR", "EUR", on).exact == 1


def test_a_lookup_takes_the_latest_rate_on_or_before_the_day() -> None:
    assert TABLE.rate("USD", "EUR", date(2026, 10, 4)).rate_date == date(2026, 10, 2)  # Sunday: Friday's fixing
    # the cross needs both legs of one day: GBP stops on 10-02, so a cross on 10-30 is 10-02's
    assert TABLE.rate("GBP", "USD", date(2026, 10, 30)).rate_date == date(2026, 10, 2)
    with pytest.raises(MissingRate, match=r"no USD->EUR exchange rate on or before 2026-09-30"):
        TABLE.rate("USD", "EUR", date(2026, 9, 30))
    with pytest.raises(MissingRate, match="no USD->CHF"):
        TABLE.rate("USD", "CHF", date(2026, 10, 30))


@given(rate=rates, value=values)
def test_converting_to_euro_and_back_returns_the_value_exactly(rate: Decimal, value: Fraction) -> None:
    table = FxTable([FxRate("ECB", "EUR", "USD", rate, date(2026, 10, 1))])
    on = date(2026, 10, 5)
    assert table.rate("EUR", "USD", on).convert(table.rate("USD", "EUR", on).convert(value)) == value
    assert table.rate("USD", "EUR", on).exact * table.rate("EUR", "USD", on).exact == 1


@given(usd=rates, chf=rates, value=values)
def test_a_cross_rate_equals_going_through_the_euro(usd: Decimal, chf: Decimal, value: Fraction) -> None:
    day = date(2026, 10, 1)
    table = FxTable([FxRate("ECB", "EUR", "USD", usd, day), FxRate("ECB", "EUR", "CHF", chf, day)])
    cross = table.rate("USD", "CHF", day)
    assert cross.convert(value) == table.rate("EUR", "CHF", day).convert(table.rate("USD", "EUR", day).convert(value))
    assert table.rate("CHF", "USD", day).convert(cross.convert(value)) == value


# (rule, the line's bill date, the rate day used): charge_date = latest on or before the bill date;
# invoice_date = latest on or before the last day of the bill date's month.
RULES = [
    (FxRateDate.CHARGE_DATE, date(2026, 10, 1), date(2026, 10, 1)),
    (FxRateDate.CHARGE_DATE, date(2026, 10, 3), date(2026, 10, 2)),
    (FxRateDate.CHARGE_DATE, date(2026, 10, 19), date(2026, 10, 19)),
    (FxRateDate.CHARGE_DATE, date(2026, 10, 31), date(2026, 10, 30)),
    (FxRateDate.INVOICE_DATE, date(2026, 10, 1), date(2026, 10, 30)),
    (FxRateDate.INVOICE_DATE, date(2026, 10, 19), date(2026, 10, 30)),
    (FxRateDate.INVOICE_DATE, date(2026, 10, 31), date(2026, 10, 30)),
    (FxRateDate.INVOICE_DATE, date(2026, 11, 2), date(2026, 10, 30)),
]


@pytest.mark.parametrize(("rule", "bill_date", "rate_day"), RULES)
def test_which_days_rate_a_line_gets(rule: FxRateDate, bill_date: date, rate_day: date) -> None:
    assert FxConversion(TABLE, "USD", "EUR", rule).rate_for(bill_date).rate_date == rate_day


def _terms(rule: FxRateDate) -> SubscriptionTerms:
    return SubscriptionTerms("sub-usd", "EUR", date(2026, 10, 1), 10, Decimal("20.00"),
                             fx=FxConversion(TABLE, "USD", "EUR", rule))


def test_each_charge_has_its_own_rate_and_a_credit_the_rate_of_the_line_it_credits() -> None:
    lines = rate_subscription(_terms(FxRateDate.CHARGE_DATE), [Change(date(2026, 10, 19), quantity=4)],
                              Window(date(2026, 10, 1), date(2026, 10, 31)), Convention.MICROSOFT,
                              RoundingPolicy.HALF_UP)
    charge, credit, rebill = lines
    assert (charge.key.kind, credit.key.kind, rebill.key.kind) == (LineKind.CHARGE, LineKind.CREDIT, LineKind.CHARGE)
    assert charge.fx is not None and charge.fx.rate_date == date(2026, 10, 1)
    assert charge.unrounded == 10 * Fraction("20.00") / Fraction("1.0834")
    assert charge.formula == "10 × 20.00 × 31/31 × 1/1.0834"
    assert charge.lineage.details["fx"] == "USD->EUR 1/1.0834 (ECB, 2026-10-01)"
    details = charge.lineage.details
    assert (details["fx_currency"], details["fx_unit_price"], details["fx_rate"], details["fx_source"]) == (
        "USD", "20.00", "1/1.0834", "ECB")
    # the credit reverses what was invoiced: the charge's EUR amount share, at the charge's 10-01 rate
    assert credit.unrounded == -charge.unrounded * Fraction(13, 31)
    assert credit.lineage.details["fx"] == "USD->EUR 1/1.0834 (ECB, 2026-10-01)"
    # the rebill is charged on 10-19, at 10-19's rate
    assert rebill.unrounded == 4 * Fraction("20.00") * Fraction(13, 31) / Fraction("1.0950")
    assert rebill.lineage.details["fx_rate_date"] == "2026-10-19"
    assert charge.amount.currency == "EUR" and charge.amount.amount == Decimal("184.60")


def test_with_the_invoice_date_rule_every_line_of_the_month_has_the_month_end_rate() -> None:
    lines = rate_subscription(_terms(FxRateDate.INVOICE_DATE), [Change(date(2026, 10, 19), quantity=4)],
                              Window(date(2026, 10, 1), date(2026, 10, 31)), Convention.MICROSOFT,
                              RoundingPolicy.HALF_UP)
    assert {line.lineage.details["fx"] for line in lines} == {"USD->EUR 1/1.1010 (ECB, 2026-10-30)"}


def test_a_missing_rate_bills_nothing_unconverted() -> None:
    terms = SubscriptionTerms("sub-usd", "EUR", date(2026, 9, 1), 10, Decimal("20.00"),
                              fx=FxConversion(TABLE, "USD", "EUR", FxRateDate.CHARGE_DATE))
    with pytest.raises(MissingRate, match="on or before 2026-09-01"):
        rate_subscription(terms, [], Window(date(2026, 9, 1), date(2026, 10, 31)), Convention.MICROSOFT,
                          RoundingPolicy.HALF_UP)
