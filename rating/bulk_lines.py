"""The vectorised engine (:mod:`rating.bulk`) on many subscriptions' terms and changes, its rows returned as the
scalar engine's :class:`~rating.proration.RatedLine` objects.

Why: a month-end batch stores every line with the lineage :func:`rating.proration.rate_subscription` writes (inputs,
price version, formula, exact unrounded amount, details). :func:`rating.bulk.rate_month` decides which lines exist
and their amounts on whole columns; the parts numpy does not carry (which inputs set each state, the price versions,
the unit price as written) come from the subscription's states (:func:`rating.proration.timeline.timeline`), which
cost little next to rating. Only what the vectorised rules cover is accepted (``rating.bulk_scope.in_scope``);
callers rate the rest with the scalar engine. All dates are calendar days; all end dates are inclusive.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from rating.bulk import rate_month
from rating.lineage import Lineage
from rating.money import Money
from rating.periods import BillingPeriod, Convention, period_containing
from rating.proration.credits import cap_note, credit_details
from rating.proration.lines import LineKey, LineKind, RatedLine
from rating.proration.rate import charge_details
from rating.proration.terms import Change, PricePolicy, SubscriptionTerms
from rating.proration.timeline import State, timeline
from rating.rounding import RoundingPolicy

_DATES = frozenset({"period_start", "stretch_start", "stretch_end"})


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
    """The fewest decimal places that write every unit price as an integer."""
    prices = [s.terms.unit_price for s in subjects] + [
        c.unit_price for s in subjects for c in s.changes if c.unit_price is not None]
    return max([0, *(-int(price.as_tuple().exponent) for price in prices)])


def _units(price: Decimal, decimals: int) -> int:
    return int(price.scaleb(decimals))


def _frames(subjects: Sequence[Subject], decimals: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    subs = pd.DataFrame({
        "subscription": [s.terms.subscription_id for s in subjects],
        "start": pd.to_datetime([s.terms.start for s in subjects]),
        "anchor": pd.to_datetime([s.terms.effective_anchor for s in subjects]),
        "billing_months": [s.terms.billing_months for s in subjects],
        "quantity": [s.terms.quantity for s in subjects],
        "price_units": [_units(s.terms.unit_price, decimals) for s in subjects],
    })
    rows = [(s.terms.subscription_id, c.effective, c.quantity,
             None if c.unit_price is None else _units(c.unit_price, decimals), c.cancel)
            for s in subjects for c in s.changes]
    changes = pd.DataFrame(rows, columns=["subscription", "effective", "quantity", "price_units", "cancel"])
    changes["effective"] = pd.to_datetime(changes["effective"])
    for column in ("quantity", "price_units"):
        changes[column] = changes[column].astype("Int64")
    changes["cancel"] = changes["cancel"].astype(bool)
    return subs, changes


def rate_subjects(subjects: Sequence[Subject], window_start: date, window_end: date, convention: Convention,
                  rounding: RoundingPolicy) -> Iterator[RatedLine]:
    """The lines :func:`~rating.proration.rate_subscription` gives each subject for the window from its ``begin``
    (at least ``window_start``, the earliest) to ``window_end``, in the same order per subject; subjects must be in
    ``rating.bulk_scope.in_scope`` and share one currency."""
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
    for sub_id, period_start, kind, start, end, quantity, units, days, total, minor, capped in zip(*columns,
                                                                                                   strict=True):
        subject = by_id[sub_id]
        if period_start < subject.begin:
            continue
        amount = Money.from_minor(minor, currency)
        unrounded = Fraction(quantity * units * days, total * 10**decimals)
        line = _Row(subject, period_start, start, end, quantity, days, total, amount)
        if kind == "charge":
            yield line.charge(unrounded, convention, rounding)
        else:
            yield line.credit(-unrounded, capped, convention, rounding)


@dataclass(frozen=True, slots=True)
class _Row:
    subject: Subject
    period_start: date  # the charge period's first day (clipped to the subscription's start)
    start: date
    end: date
    quantity: int
    days: int
    total: int
    amount: Money

    def period(self) -> BillingPeriod:
        """The billing period of the row's charge period: a charge period starting after the subscription does
        starts on a boundary, whose index the months since the anchor give (the row gives its last day)."""
        terms = self.subject.terms
        anchor, day = terms.effective_anchor, self.period_start
        if day == terms.start:
            return period_containing(anchor, terms.billing_months, day)
        index = ((day.year - anchor.year) * 12 + day.month - anchor.month) // terms.billing_months
        return BillingPeriod(index, day, self.end, terms.billing_months)

    def _state_at(self) -> int:
        return bisect_right(self.subject.days, self.start) - 1

    def charge(self, unrounded: Fraction, convention: Convention, rounding: RoundingPolicy) -> RatedLine:
        terms, period = self.subject.terms, self.period()
        state = self.subject.states[self._state_at()][1]
        formula = f"{self.quantity} × {state.unit_price} × {self.days}/{self.total}"
        lineage = Lineage(state.input_ids, state.price_version, convention.value, formula, unrounded, rounding.value,
                          charge_details(terms, period, self.period_start, self.start, state, None))
        return RatedLine(LineKey(terms.subscription_id, self.period_start, LineKind.CHARGE, self.start), period,
                         self.end, self.quantity, state.unit_price, state.product, self.days, self.total, unrounded,
                         self.amount, formula, lineage, self.start)

    def credit(self, unrounded: Fraction, capped: bool, convention: Convention, rounding: RoundingPolicy
               ) -> RatedLine:
        """The credit of the line in force before this change day (the state before it charged it)."""
        terms, period = self.subject.terms, self.period()
        position = self._state_at()
        old_day, old = self.subject.states[position - 1]
        new = self.subject.states[position][1]
        credited = LineKey(terms.subscription_id, self.period_start, LineKind.CHARGE, max(old_day, self.period_start))
        formula = f"-{self.quantity} × {old.unit_price} × {self.days}/{self.total}"
        if capped:
            formula += cap_note(self.amount.amount)
        lineage = Lineage(new.day_ids, old.price_version, convention.value, formula, unrounded, rounding.value,
                          credit_details(period, self.end, credited, old.product, self.start))
        return RatedLine(LineKey(terms.subscription_id, self.period_start, LineKind.CREDIT, self.start), period,
                         self.end, self.quantity, old.unit_price, old.product, self.days, self.total, unrounded,
                         self.amount, formula, lineage, self.start)
