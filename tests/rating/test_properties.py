"""Properties of the rating rules, checked with hypothesis on generated subscriptions, changes and usage."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.money import Money
from rating.months import add_months
from rating.periods import Convention
from rating.pricing import FxRate, FxTable, MarkupRule, Markups, apply_markup
from rating.proration import Change, SubscriptionTerms, Window, credit_invoiced, rate_subscription
from rating.rounding import RoundingPolicy, round_amount
from rating.usage_frames import rate_usage

anchors = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
conventions = st.sampled_from(list(Convention))
policies = st.sampled_from(list(RoundingPolicy))
prices = st.decimals(min_value=0, max_value=Decimal("5000"), places=4)
quantities = st.integers(min_value=0, max_value=500)
billing = st.sampled_from([1, 12, 36])


change_days = st.integers(min_value=0, max_value=120)


@st.composite
def subscriptions(draw):
    anchor = draw(anchors)
    start = anchor + timedelta(days=draw(st.integers(0, 40)))
    months = draw(billing)
    return SubscriptionTerms("sub", "EUR", start, draw(quantities), draw(prices), term_months=months,
                             billing_months=months, anchor=anchor)


@st.composite
def change_lists(draw, start: date):
    day = start
    result = []
    for _ in range(draw(st.integers(0, 5))):
        day = day + timedelta(days=draw(change_days))
        kind = draw(st.sampled_from(["quantity", "price", "both", "cancel"]))
        if kind == "cancel":
            result.append(Change(day, cancel=True))
            break
        result.append(Change(day,
                             quantity=draw(quantities) if kind != "price" else None,
                             unit_price=draw(prices) if kind != "quantity" else None))
    return result


def everything(terms: SubscriptionTerms) -> Window:
    return Window(terms.start, add_months(terms.start, 40))


@settings(max_examples=200, deadline=None)
@given(subscriptions(), conventions, policies, st.data())
def test_a_change_and_its_reversal_on_the_same_day_net_to_zero(terms, convention, policy, data) -> None:
    day = terms.start + timedelta(days=data.draw(st.integers(0, 400)))
    there = Change(day, quantity=data.draw(quantities), unit_price=data.draw(prices))
    back = Change(day, quantity=terms.quantity, unit_price=terms.unit_price)
    window = everything(terms)
    plain = rate_subscription(terms, [], window, convention, policy)
    reversed_lines = rate_subscription(terms, [there, back], window, convention, policy)
    assert sum(line.amount.amount for line in reversed_lines) == sum(line.amount.amount for line in plain)
    assert [line.key for line in reversed_lines] == [line.key for line in plain]


@settings(max_examples=300, deadline=None)
@given(subscriptions(), conventions, policies, st.data())
def test_credits_never_exceed_what_was_charged(terms, convention, policy, data) -> None:
    changes = data.draw(change_lists(terms.start))
    lines = rate_subscription(terms, changes, everything(terms), convention, policy)
    by_key = {"/".join(str(part) for part in line.key.as_tuple()): line for line in lines}
    for line in lines:
        if line.key.kind == "credit":
            credited = by_key[line.lineage.details["credits"]]
            assert line.amount.amount <= 0
            assert -line.amount.amount <= credited.amount.amount
            assert line.key.period_start == credited.key.period_start
    for line in lines:
        if line.key.kind == "charge":
            credited_so_far = Money(-data.draw(st.decimals(0, 10_000, places=2)), "EUR")
            on = line.key.stretch_start + timedelta(days=data.draw(st.integers(0, (line.stretch_end
                                                                                   - line.key.stretch_start).days)))
            credit = credit_invoiced(line.invoiced(), on, convention, policy, credited_so_far=credited_so_far)
            assert 0 <= -credit.amount.amount <= max(line.amount.amount + credited_so_far.amount, Decimal(0))


MARKUPS = Markups((MarkupRule("all", Decimal("12.5")), MarkupRule("vm", Decimal("7.25"), meter_category="vm"),
                   MarkupRule("c1", Decimal("3"), customer="c1")))
FX = FxTable([FxRate("test", "USD", "EUR", Decimal("0.913457"), date(2026, 1, 1))])

usage_rows = st.lists(
    st.tuples(st.sampled_from(["c0", "c1", "c2"]), st.sampled_from(["vm", "storage"]),
              st.sampled_from(["EUR", "USD"]), st.sampled_from(["prod", "dev", None]),
              st.integers(min_value=0, max_value=10**13)),
    min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(usage_rows, policies, st.sampled_from([["customer"], ["customer", "tag_environment"], ["meter_category"], []]))
def test_grouped_consumption_totals_equal_the_sum_of_their_rows(rows, policy, group_by) -> None:
    usage = pd.DataFrame(rows, columns=["customer", "meter_category", "currency", "tag_environment", "cost_units"])
    usage.insert(0, "row_id", [f"r{n}" for n in range(len(rows))])
    usage["meter"] = "m"
    usage = usage.astype({"cost_units": "int64"})
    lines = rate_usage(usage, tenant="de01", currency="EUR", group_by=group_by, markups=MARKUPS, fx=FX,
                       on=date(2026, 1, 31), rounding=policy)
    row_value = {}
    for row in usage.itertuples():
        rule = MARKUPS.resolve("de01", row.customer, "m", row.meter_category, date(2026, 1, 31))
        rate = FX.rate(row.currency, "EUR", date(2026, 1, 31))
        row_value[row.row_id] = rate.convert(apply_markup(Fraction(row.cost_units, 10**8), rule))
    assert sorted(row for line in lines for row in line.lineage.input_ids) == sorted(row_value)
    for line in lines:
        exact = sum((row_value[row] for row in line.lineage.input_ids), Fraction(0))
        assert line.unrounded == exact
        assert line.amount == round_amount(exact, "EUR", policy)
    assert sum((line.unrounded for line in lines), Fraction(0)) == sum(row_value.values(), Fraction(0))
