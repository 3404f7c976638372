"""The quantity-and-price timeline of a subscription: the billing state in force from each day on which it changes.

Why apart: this is where dated changes are composed (same-day changes in order, price-only changes moved to the
next billing period under ``next_cycle`` or the next term under ``term``, no-op days dropped) and where each part of
the state remembers the inputs that set it, so the charges and credits built from it carry their lineage. Changes
take effect at the start of their day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from rating.periods import ONE_DAY, period_containing
from rating.proration.terms import Change, PricePolicy, SubscriptionTerms


@dataclass(frozen=True, slots=True)
class State:
    """The billing state in force, with the ids of the inputs that set each part of it (for lineage) and the ids
    of the changes composed on the day it began (what a credit/rebill pair is made by)."""

    quantity: int
    unit_price: Decimal
    product: str | None
    price_version: str | None
    quantity_ids: tuple[str, ...]
    price_ids: tuple[str, ...]
    status_ids: tuple[str, ...]
    day_ids: tuple[str, ...] = ()
    active: bool = True
    suspended: bool = False

    @property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.quantity_ids + self.price_ids + self.status_ids))

    def apply(self, change: Change, same_day: bool) -> State:
        ids = change.input_ids
        status_changed = change.product is not None or change.cancel or change.suspended is not None
        return replace(
            self,
            quantity=self.quantity if change.quantity is None else change.quantity,
            unit_price=self.unit_price if change.unit_price is None else change.unit_price,
            product=self.product if change.product is None else change.product,
            price_version=change.price_version or self.price_version,
            active=self.active and not change.cancel,
            suspended=self.suspended if change.suspended is None else change.suspended,
            quantity_ids=self.quantity_ids if change.quantity is None else ids,
            price_ids=self.price_ids if change.unit_price is None else ids,
            status_ids=ids if status_changed else self.status_ids,
            day_ids=(self.day_ids if same_day else ()) + ids,
        )

    def billed_quantity(self, bills_when_suspended: bool) -> int:
        if not self.active or (self.suspended and not bills_when_suspended):
            return 0
        return self.quantity

    def billing(self, bills_when_suspended: bool) -> tuple[object, ...]:
        return self.billed_quantity(bills_when_suspended), self.unit_price, self.product, self.active


def effective_day(change: Change, terms: SubscriptionTerms, policy: PricePolicy) -> date:
    if policy is PricePolicy.PRORATED or not change.price_only:
        return change.effective
    months = terms.term_months if policy is PricePolicy.TERM else terms.billing_months
    period = period_containing(terms.effective_anchor, months, change.effective)
    if change.effective == max(period.start, terms.start):
        return change.effective
    return period.end + ONE_DAY


def timeline(terms: SubscriptionTerms, changes: Sequence[Change], policy: PricePolicy) -> list[tuple[date, State]]:
    """The states in force, one entry per day on which billing changes; same-day changes are composed in order
    (a state lasting zero days is never billed) and no-op days are dropped."""
    ids = terms.input_ids
    state = State(terms.quantity, terms.unit_price, terms.product, terms.price_version, ids, ids, ids)
    if not changes:  # most licences in a month: their terms are the one state
        return [(terms.start, state)]
    previous = terms.start
    for position, change in enumerate(changes):
        if change.effective < previous:
            raise ValueError(f"change {position} ({change.effective}) is before the start or an earlier change")
        previous = change.effective
    dated = sorted(((effective_day(c, terms, policy), position, c) for position, c in enumerate(changes)),
                   key=lambda item: item[:2])
    timeline = [(terms.start, state)]
    for day, _, change in dated:
        same_day = timeline[-1][0] == day
        state = state.apply(change, same_day)
        if same_day:
            timeline[-1] = (day, state)
        else:
            timeline.append((day, state))
    kept = timeline[:1]
    for day, state in timeline[1:]:
        if state.billing(terms.bills_when_suspended) != kept[-1][1].billing(terms.bills_when_suspended):
            kept.append((day, state))
    return kept
