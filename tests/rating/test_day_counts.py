"""Properties of the day counts (rating-cases.md precise rules 3 and 4), on dates drawn towards month ends, the 30th
and 31st, and February's last days, where the conventions differ.

Under the strict 30/360 count a single day is one slot but the 31st shares slot 30 with the 30th and February's last
day jumps to slot 30, so thirty counts of consecutive stretches add up exactly where the next day is the next slot
(every cut at a month end among them) and differ by the skipped or shared slots elsewhere.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rating.months import add_months, month_end
from rating.periods import ONE_DAY, Convention, day_fraction, period_at, period_containing, period_days, stretch_days
from rating.proration import Change, SubscriptionTerms, Window, rate_subscription
from rating.rounding import RoundingPolicy

conventions = st.sampled_from(list(Convention))
near_month_ends = st.builds(lambda year, month, back: month_end(date(year, month, 1)) - timedelta(days=back),
                            st.integers(2024, 2030), st.integers(1, 12), st.integers(0, 3))
days = st.one_of(st.dates(date(2024, 1, 1), date(2030, 12, 31)), near_month_ends)
late_in_long_months = st.builds(date, st.integers(2024, 2030), st.sampled_from([1, 3, 5, 7, 8, 10, 12]),
                                st.sampled_from([29, 30, 31]))
billing = st.sampled_from([1, 1, 12, 36])


@st.composite
def charge_periods(draw):
    """``(anchor, start, months, period, first day of the charge period)``, partial first periods included and
    clipped cycles that start at the end of February often."""
    anchor, months = draw(days | late_in_long_months), draw(billing)
    start = anchor + timedelta(days=draw(st.sampled_from([0, 0, 1, 2, 15, 29, 30, 31])))
    first = period_containing(anchor, months, start).index
    february = period_containing(anchor, months, month_end(date(start.year + 1, 2, 1))).index
    period = period_at(anchor, months, draw(st.sampled_from([first, first + 1, first + 2, february])))
    return anchor, start, months, period, max(period.start, start)


@st.composite
def cuts_in(draw, first: date, last: date) -> list[date]:
    """Change days strictly after ``first`` up to ``last``, drawn towards month ends."""
    span = (last - first).days
    if span == 0:
        return []
    offsets = st.integers(1, span)
    ends = [(month_end(day) - first).days for day in (first, add_months(first, 1))]
    picked = draw(st.lists(st.one_of(offsets, *(st.sampled_from([end - 1, end, end + 1]) for end in ends)),
                           max_size=4))
    return sorted({first + timedelta(days=offset) for offset in picked if 1 <= offset <= span})


def fraction(day: date, period, convention: Convention) -> Fraction:
    """The share of ``period`` billed from ``day`` to its end: what a change on ``day`` credits and rebills."""
    return Fraction(*day_fraction(day, period.end, period, convention))


@settings(max_examples=400)
@given(charge_periods(), conventions, st.sampled_from(list(RoundingPolicy)), st.data())
def test_the_parts_of_a_split_charge_period_sum_to_the_whole(case, convention, rounding, data) -> None:
    """Changes split a charge period into parts, each billed for ``fraction(cut) − fraction(next cut)``: every part
    is ≥ 0, they sum to the whole (fraction exactly 1 for a whole period), so the period's net is each part's seats
    for its share, no credit needs its cap, and equal seats throughout bill exactly one whole charge."""
    anchor, start, months, period, first = case
    cuts = data.draw(cuts_in(first, period.end))
    same = data.draw(st.booleans())
    seats = [data.draw(st.integers(1, 40))] * (len(cuts) + 1) if same else data.draw(
        st.lists(st.integers(0, 40), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    price = data.draw(st.decimals(Decimal("0.01"), Decimal("999"), places=2))
    terms = SubscriptionTerms("sub", "EUR", start, seats[0], price, term_months=months, billing_months=months,
                              anchor=anchor)
    changes = [Change(cut, quantity=seats[n + 1], product=f"part-{n + 1}") for n, cut in enumerate(cuts)]
    lines = rate_subscription(terms, changes, Window(first, first), convention, rounding)

    bounds = [fraction(day, period, convention) for day in [first, *cuts]] + [Fraction(0)]
    shares = [bounds[n] - bounds[n + 1] for n in range(len(cuts) + 1)]
    assert all(share >= 0 for share in shares)
    assert sum(shares) == bounds[0]
    if first == period.start:
        assert bounds[0] == 1
    expected = Fraction(price) * sum(q * share for q, share in zip(seats, shares, strict=True))
    assert sum(line.unrounded for line in lines) == expected
    assert not any("capped" in line.formula for line in lines)
    if same:
        assert expected == seats[0] * Fraction(price) * bounds[0]
    rounded = sum(line.amount.amount for line in lines)
    assert abs(Fraction(rounded) - expected) <= Fraction(len(lines), 100)


@settings(max_examples=400)
@given(charge_periods(), conventions, st.data())
def test_a_stretch_never_counts_more_than_the_whole_period(case, convention, data) -> None:
    _, _, _, period, _ = case
    length = (period.end - period.start).days
    start = period.start + timedelta(days=data.draw(st.integers(0, length)))
    end = start + timedelta(days=data.draw(st.integers(0, (period.end - start).days)))
    wider_start = start - timedelta(days=data.draw(st.integers(0, (start - period.start).days)))
    counted, whole = day_fraction(start, end, period, convention)
    wider, _ = day_fraction(wider_start, end, period, convention)
    assert whole == period_days(period, convention)
    assert 1 <= counted <= wider <= whole


def slot_step(day: date) -> int:
    """How many slots the next day moves on from ``day``, from the calendar alone: none onto the 31st (it shares
    slot 30), three or two onto February's last day (it is slot 30), one everywhere else."""
    after = day + ONE_DAY
    if after.day == 31:
        return 0
    if after.month == 2 and after == month_end(after):
        return 30 - day.day
    return 1


@settings(max_examples=500)
@given(days, st.integers(0, 120), st.integers(0, 120))
def test_thirty_counts_of_consecutive_stretches_add_up(first, length, cut) -> None:
    last = first + timedelta(days=length)
    end_of_part = first + timedelta(days=min(cut, length))
    if end_of_part == last:
        return
    parts = (stretch_days(first, end_of_part, Convention.THIRTY)
             + stretch_days(end_of_part + ONE_DAY, last, Convention.THIRTY))
    whole = stretch_days(first, last, Convention.THIRTY)
    assert parts == whole + 1 - slot_step(end_of_part)
    if end_of_part == month_end(end_of_part):
        assert parts == whole


@settings(max_examples=200)
@given(days, st.integers(1, 40))
def test_whole_calendar_months_count_thirty_each(day, count) -> None:
    first = day.replace(day=1)
    last = month_end(add_months(first, count - 1))
    assert stretch_days(first, last, Convention.THIRTY) == 30 * count
    assert stretch_days(first, month_end(first), Convention.THIRTY) == 30
    assert stretch_days(month_end(first), month_end(first), Convention.THIRTY) == 1
