"""The vectorised engine (:mod:`rating.bulk`) on many subscriptions' terms and changes, its rows returned as the
values of the scalar engine's lines (:class:`~rating.proration.PlainLine`, what ``RatedLine.plain`` gives).

Why: a month-end batch stores every line with the lineage :func:`rating.proration.rate_subscription` writes (inputs,
price version, formula, exact unrounded amount, details). :func:`rating.bulk.rate_month` decides which lines exist
and their amounts on whole columns; the parts numpy does not carry (which inputs set each state, the price versions,
the unit price as written) come from the subscription's states (:func:`rating.proration.timeline.timeline`), which
cost little next to rating. Each line is built as plain values with its lineage dict, through the same helpers the
scalar engine's lines use (``charge_details``, ``credit_details``, ``lineage_dict``), not as the four objects a
scalar line is. Only what the vectorised rules cover is accepted (``rating.bulk_scope.in_scope``); callers rate the
rest with the scalar engine. All dates are calendar days; all end dates are inclusive.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import partial

import numpy as np
import pandas as pd

from rating.bulk import rate_month
from rating.lineage import lineage_dict
from rating.money import Money
from rating.periods import BillingPeriod, Convention, period_containing
from rating.proration.credits import cap_note, credit_details
from rating.proration.lines import LineKey, LineKind, PlainLine
from rating.proration.rate import charge_details
from rating.proration.terms import Change, PricePolicy, SubscriptionTerms
from rating.proration.timeline import State, timeline
from rating.rounding import RoundingPolicy

_DATES = frozenset({"period_start", "stretch_start", "stretch_end"})
_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Subject:
    """One subscription to rate: its terms, changes, the first day a charge period may start to be billed
    (``begin``) and its states in force (for lineage)."""

    terms: SubscriptionTerms
    changes: Sequence[Change]
    begin: date
    states: list[tuple[date, State]]
    days: list[date]  # the states' first days

    @classmethod
    def of(cls, terms: SubscriptionTerms, changes: Sequence[Change], begin: date, policy: PricePolicy) -> Subject:
        states = timeline(terms, changes, policy)
        return cls(terms, changes, begin, states, [day for day, _ in states])


def _decimals(subjects: Sequence[Subject]) -> int:
    """The fewest decimal places that write every unit price as an integer (a month's licences repeat few prices)."""
    prices = {s.terms.unit_price for s in subjects}
    prices.update(c.unit_price for s in subjects for c in s.changes if c.unit_price is not None)
    return max([0, *(-int(price.as_tuple().exponent) for price in prices)])


def _days(days: Iterable[date]) -> np.ndarray:
    """Calendar days as ``datetime64[ns]``, through their ordinals (a list of ``date`` objects is parsed one by
    one)."""
    return (np.fromiter((day.toordinal() for day in days), dtype=np.int64) - _EPOCH).astype("datetime64[D]").astype(
        "datetime64[ns]")


def _frames(subjects: Sequence[Subject], decimals: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    units: dict[Decimal, int] = {}  # each distinct price scaled once

    def scaled(price: Decimal) -> int:
        found = units.get(price)
        if found is None:
            found = units[price] = int(price.scaleb(decimals))
        return found

    terms = [s.terms for s in subjects]
    subs = pd.DataFrame({
        "subscription": [t.subscription_id for t in terms],
        "start": _days(t.start for t in terms),
        "anchor": _days(t.effective_anchor for t in terms),
        "billing_months": np.fromiter((t.billing_months for t in terms), dtype=np.int64, count=len(terms)),
        "quantity": np.fromiter((t.quantity for t in terms), dtype=np.int64, count=len(terms)),
        "price_units": [scaled(t.unit_price) for t in terms],
    })
    rows = [(s.terms.subscription_id, c.effective, c.quantity,
             None if c.unit_price is None else scaled(c.unit_price), c.cancel)
            for s in subjects for c in s.changes]
    changes = pd.DataFrame(rows, columns=["subscription", "effective", "quantity", "price_units", "cancel"])
    changes["effective"] = pd.to_datetime(changes["effective"])
    for column in ("quantity", "price_units"):
        changes[column] = changes[column].astype("Int64")
    changes["cancel"] = changes["cancel"].astype(bool)
    return subs, changes


def rate_subjects(subjects: Sequence[Subject], window_start: date, window_end: date, convention: Convention,
                  rounding: RoundingPolicy, defer_before: date | None = None,
                  known: Callable[[str, date, date, Decimal], bool] | None = None) -> Iterator[PlainLine]:
    """The lines :func:`~rating.proration.rate_subscription` gives each subject for the window from its ``begin``
    (at least ``window_start``, the earliest) to ``window_end``, in the same order per subject, as their
    :meth:`~rating.proration.RatedLine.plain` values; subjects must be in ``rating.bulk_scope.in_scope`` and share
    one currency.

    The lineage of a line billed before ``defer_before`` is built only when asked for
    (:meth:`~rating.proration.PlainLine.full_lineage`): a month-end build a year after go-live rates every billed
    month again to compare amounts with what was billed, and most of those lines are dropped as equal; their lineage
    was half of their cost. A charge billed before ``defer_before`` for which ``known(subscription, first day, last
    day, amount)`` is true is not given at all: the caller already holds it (a build, the charges billed as they
    should be)."""
    if not subjects:
        return
    decimals = _decimals(subjects)
    subs, changes = _frames(subjects, decimals)
    currency = subjects[0].terms.currency
    rows = rate_month(subs, changes, window_start, window_end, convention, rounding, currency, decimals)
    by_id = {s.terms.subscription_id: s for s in subjects}
    columns = [rows[name].to_numpy().astype("datetime64[D]").tolist() if name in _DATES else rows[name].tolist()
               for name in ("subscription", "period_start", "kind", "stretch_start", "stretch_end", "quantity",
                            "price_units", "days", "period_days", "amount_minor", "capped")]
    rate = _Rate(convention.value, rounding.value, currency, 10**decimals)
    for sub_id, period_start, kind, start, end, quantity, units, days, total, minor, capped in zip(*columns,
                                                                                                   strict=True):
        subject = by_id[sub_id]
        if period_start < subject.begin:
            continue
        deferred = defer_before is not None and start < defer_before  # a line's bill date is its first day
        if kind == "charge":
            if deferred and known is not None and known(sub_id, start, end, rate.amount(minor)):
                continue
            yield rate.charge(subject, period_start, start, end, quantity, units, days, total, minor, deferred)
        else:
            yield rate.credit(subject, period_start, start, end, quantity, units, days, total, minor, capped, deferred)


def _period(terms: SubscriptionTerms, period_start: date, end: date) -> BillingPeriod:
    """The billing period of a charge period starting on ``period_start`` and ending on ``end``: a charge period
    starting after the subscription does starts on a boundary, whose index the months since the anchor give."""
    anchor = terms.effective_anchor
    if period_start == terms.start:
        return period_containing(anchor, terms.billing_months, period_start)
    index = ((period_start.year - anchor.year) * 12 + period_start.month - anchor.month) // terms.billing_months
    return BillingPeriod(index, period_start, end, terms.billing_months)


class _Rate:
    """The run's convention, rounding and currency, and the exact amounts seen so far: a month's lines repeat few
    (seats × price × days of a period), and each one's ``Fraction`` and ``Money`` cost more than the lookup."""

    def __init__(self, convention: str, rounding: str, currency: str, price_scale: int) -> None:
        self.convention, self.rounding, self.currency, self.price_scale = convention, rounding, currency, price_scale
        self.fractions: dict[tuple[int, int], Fraction] = {}
        self.amounts: dict[int, Decimal] = {}

    def _exact(self, numerator: int, denominator: int) -> Fraction:
        key = (numerator, denominator)
        found = self.fractions.get(key)
        if found is None:
            found = self.fractions[key] = Fraction(numerator, denominator)
        return found

    def amount(self, minor: int) -> Decimal:
        """``minor`` units of the run's currency as the amount a line carries."""
        found = self.amounts.get(minor)
        if found is None:
            found = self.amounts[minor] = Money.from_minor(minor, self.currency).amount
        return found

    def charge(self, subject: Subject, period_start: date, start: date, end: date, quantity: int, units: int,
               days: int, total: int, minor: int, deferred: bool = False) -> PlainLine:
        """A charge from ``start`` with the state in force on that day; its lineage built later if ``deferred``."""
        terms = subject.terms
        state = subject.states[bisect_right(subject.days, start) - 1][1]
        unrounded = self._exact(quantity * units * days, total * self.price_scale)
        why = (subject, state, period_start, start, end, quantity, days, total, unrounded)
        return PlainLine(terms.subscription_id, "charge", period_start, start, end, start, quantity, state.unit_price,
                         state.product, days, total, unrounded, self.amount(minor), self.currency,
                         None if deferred else self._charge_lineage(*why), None,
                         partial(self._charge_lineage, *why) if deferred else None)

    def _charge_lineage(self, subject: Subject, state: State, period_start: date, start: date, end: date,
                        quantity: int, days: int, total: int, unrounded: Fraction) -> dict[str, object]:
        terms = subject.terms
        formula = f"{quantity} × {state.unit_price} × {days}/{total}"
        details = charge_details(terms, _period(terms, period_start, end), period_start, start, state, None)
        return lineage_dict(state.input_ids, state.price_version, self.convention, formula, unrounded, self.rounding,
                            details)

    def credit(self, subject: Subject, period_start: date, start: date, end: date, quantity: int, units: int,
               days: int, total: int, minor: int, capped: bool, deferred: bool = False) -> PlainLine:
        """The credit of the line in force before the change on ``start`` (the state before it charged it); its
        lineage built later if ``deferred``."""
        terms = subject.terms
        position = bisect_right(subject.days, start) - 1
        old = subject.states[position - 1][1]
        amount = self.amount(minor)
        unrounded = -self._exact(quantity * units * days, total * self.price_scale)
        why = (subject, position, period_start, start, end, quantity, days, total, unrounded,
               amount if capped else None)
        return PlainLine(terms.subscription_id, "credit", period_start, start, end, start, quantity, old.unit_price,
                         old.product, days, total, unrounded, amount, self.currency,
                         None if deferred else self._credit_lineage(*why), None,
                         partial(self._credit_lineage, *why) if deferred else None)

    def _credit_lineage(self, subject: Subject, position: int, period_start: date, start: date, end: date,
                        quantity: int, days: int, total: int, unrounded: Fraction,
                        capped: Decimal | None) -> dict[str, object]:
        terms = subject.terms
        old_day, old = subject.states[position - 1]
        new = subject.states[position][1]
        credited = LineKey(terms.subscription_id, period_start, LineKind.CHARGE, max(old_day, period_start))
        formula = f"-{quantity} × {old.unit_price} × {days}/{total}"
        if capped is not None:
            formula += cap_note(capped)
        details = credit_details(_period(terms, period_start, end), end, credited, old.product, start)
        return lineage_dict(new.day_ids, old.price_version, self.convention, formula, unrounded, self.rounding,
                            details)
