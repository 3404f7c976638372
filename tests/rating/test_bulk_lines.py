"""The vectorised engine's lines as ``rating.bulk_lines`` returns them equal the scalar engine's (their plain values),
lineage included."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rating.bulk_lines import Subject, rate_subjects
from rating.bulk_scope import in_scope
from rating.periods import Convention
from rating.proration import Change, PricePolicy, SubscriptionTerms, Window, rate_subscription
from rating.rounding import RoundingPolicy

WINDOW = (date(2026, 5, 1), date(2026, 5, 31))
PRICES = st.sampled_from([Decimal("12.0000"), Decimal("30.5"), Decimal("0.01"), Decimal("17.25"), Decimal("8")])


@st.composite
def subscription(draw: st.DrawFn, number: int) -> tuple[SubscriptionTerms, list[Change], date]:
    billing = draw(st.sampled_from([1, 12, 36]))
    term = billing * draw(st.sampled_from([1, 1, 3])) if billing < 36 else 36
    anchor = date(2023, 1, 1) + timedelta(days=draw(st.integers(0, 1240)))
    start = anchor + timedelta(days=draw(st.sampled_from([0, 0, 3, 20])))
    terms = SubscriptionTerms(f"s{number}", "EUR", start, draw(st.integers(0, 25)), draw(PRICES), term, billing,
                              anchor if anchor != start else None, product="P1", price_version="rule 1",
                              input_ids=(f"snapshot:{number}",))
    changes: list[Change] = []
    day = max(start, WINDOW[0] - timedelta(days=40))
    for step in range(draw(st.integers(0, 4))):
        day += timedelta(days=draw(st.integers(0, 20)))
        ids = (f"snapshot:{number}{step}", f"mutation:{number}{step}")
        kind = draw(st.sampled_from(["quantity", "price", "both", "cancel"]))
        if kind == "cancel":
            changes.append(Change(day, cancel=True, input_ids=ids))
            break
        quantity = draw(st.integers(0, 25)) if kind != "price" else None
        price = draw(PRICES) if kind != "quantity" else None
        changes.append(Change(day, quantity=quantity, unit_price=price,
                              price_version="rule 2" if price is not None else None, input_ids=ids))
    begin = draw(st.sampled_from([WINDOW[0], max(start, WINDOW[0] - timedelta(days=draw(st.integers(1, 400))))]))
    return terms, changes, begin


@settings(max_examples=150, deadline=None)
@given(books=st.lists(st.integers(0, 10**6), min_size=1, max_size=6).flatmap(
           lambda numbers: st.tuples(*(subscription(n) for n in range(len(numbers))))),
       convention=st.sampled_from(list(Convention)), rounding=st.sampled_from(list(RoundingPolicy)))
def test_bulk_lines_equal_scalar_lines(books: tuple, convention: Convention, rounding: RoundingPolicy) -> None:
    policy = PricePolicy.PRORATED
    subjects = [Subject.of(terms, changes, begin, policy) for terms, changes, begin in books]
    assert all(in_scope(terms, changes, policy) for terms, changes, _ in books)
    expected = []
    for terms, changes, begin in books:
        expected += rate_subscription(terms, changes, Window(begin, WINDOW[1]), convention, rounding, policy)
    got = list(rate_subjects(subjects, min(begin for _, _, begin in books), WINDOW[1], convention, rounding))
    assert [line.lineage for line in got] == [line.lineage.to_dict() for line in expected]
    assert got == [line.plain() for line in expected]
    # lines billed before the window have their lineage built only when asked, and it is the same lineage
    deferred = list(rate_subjects(subjects, min(begin for _, _, begin in books), WINDOW[1], convention, rounding,
                                  defer_before=WINDOW[0]))
    assert [line.lineage is None for line in deferred] == [line.bill_date < WINDOW[0] for line in deferred]
    assert [line.full_lineage() for line in deferred] == [line.lineage for line in got]
    assert deferred == got
    # a charge billed before the window that the caller says it knows (here: every other one) is not given
    asked: list[tuple[str, date, date, Decimal]] = []

    def known(subscription: str, start: date, end: date, amount: Decimal) -> bool:
        asked.append((subscription, start, end, amount))
        return len(asked) % 2 == 0

    left = list(rate_subjects(subjects, min(begin for _, _, begin in books), WINDOW[1], convention, rounding,
                              WINDOW[0], known))
    earlier = [(line.subscription, line.stretch_start, line.stretch_end, line.amount) for line in got
               if line.kind == "charge" and line.bill_date < WINDOW[0]]
    assert asked == earlier
    skipped = set(earlier[1::2])
    for line in left:
        line.full_lineage()
    assert left == [line for line in got
                    if (line.subscription, line.stretch_start, line.stretch_end, line.amount) not in skipped
                    or line.kind != "charge" or line.bill_date >= WINDOW[0]]


def test_product_switches_suspensions_and_deferred_prices_are_left_to_the_scalar_engine() -> None:
    terms = SubscriptionTerms("s", "EUR", date(2026, 1, 1), 3, Decimal("10"))
    day = date(2026, 5, 10)
    assert in_scope(terms, [Change(day, quantity=4), Change(day, cancel=True)], PricePolicy.NEXT_CYCLE)
    assert not in_scope(terms, [Change(day, product="P2")], PricePolicy.PRORATED)
    assert not in_scope(terms, [Change(day, suspended=True)], PricePolicy.PRORATED)
    assert not in_scope(terms, [Change(day, unit_price=Decimal("11"))], PricePolicy.NEXT_CYCLE)
    assert in_scope(terms, [Change(day, unit_price=Decimal("11"))], PricePolicy.PRORATED)
