"""A subscription's quantity-and-price timeline from the ledger, in the rating engine's terms.

Who wins (DESIGN §3): the vendor snapshot is the truth of what is provisioned; a desk mutation only supplies the
effective date of a change the vendor confirms. So a snapshot change with no mutation takes effect on the first day
it was seen; with a confirming mutation (same quantity, cancel or product, dated after the previous change and not
after the vendor showed it) it takes effect on the mutation's date. A mutation the vendor never shows changes nothing.

Subscriptions, snapshots, mutations and customers arrive as read-only rows with the models' columns
(``ledger.repositories.batches``), not ORM objects; the annotations name the models whose columns they carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, pairwise
from typing import NamedTuple

from ledger.models import Customer, Mutation, Snapshot, Subscription
from rating.periods import ONE_DAY, BillingPeriod, parse_duration, period_containing
from rating.pricing import Licence, Price, PriceBook
from rating.proration import Change, PricePolicy, SubscriptionTerms
from services.batches.editions import Editions, PriceDays
from services.prices.book import licence

ENDED = frozenset({"cancelled", "canceled", "deleted", "expired", "ended", "inactive", "terminated"})
SUSPENDED = frozenset({"suspended", "disabled"})
NOT_BILLED = frozenset({"trial", "pending"})  # seats the vendor does not charge yet: billed from the day active
PERIODIC = frozenset({"P1M", "P1Y", "P2Y", "P3Y"})


class VendorState(NamedTuple):
    """An uninterrupted run of one vendor state, from the first day it was seen (a named tuple: a build makes one
    per licence, a million at the largest hosts)."""

    day: dt.date
    quantity: int
    status: str
    product: str
    unit_cost: Decimal | None
    snapshot_id: int


@dataclass(frozen=True, slots=True)
class Timeline:
    terms: SubscriptionTerms
    changes: list[Change]
    rated_from: dt.date  # the first day the batch it was built for can rate (``first_rated_day``)
    opening: BillingPeriod  # the charge period open on that batch's first day
    notes: dict[str, str] = field(default_factory=dict)  # input id -> why it matters (e.g. unconfirmed)
    repriced: Callable[[dt.date], str | None] | None = None  # charge period start -> reprice (None: no reprices)



def first_state_day(start_date: dt.date | None, first_seen: dt.date) -> dt.date:
    """The day a subscription's first vendor state holds from: its start when the vendor reports one before the
    first snapshot (a licence bought the day before the night it was first read), else the day it was first seen.
    The batch bills from it, and a mutation confirms the first change only when dated after it."""
    return min(start_date or first_seen, first_seen)


def first_rated_day(start: dt.date, anchor: dt.date, billing_months: int, first_day: dt.date,
                    go_live: dt.date) -> tuple[dt.date, BillingPeriod]:
    """The earliest day a batch billing from ``first_day`` can rate for a subscription that started on ``start``,
    and the charge period open on that first day (the *opening* period).

    The opening period is rated from its start, so that the credits and rebills of changes inside it are billed,
    unless it opened before ``go_live`` (the first day of the tenant's first batch): then whatever billed the
    reseller before cspbill billed it, and rating starts the day after it. Nothing before this day is ever billed,
    so no price before it is read.
    """
    begin = max(first_day, start)
    opening = period_containing(anchor, billing_months, begin)
    if opening.start < begin and max(start, opening.start) < go_live:
        return opening.end + ONE_DAY, opening
    return max(start, opening.start), opening


class Unbillable(Exception):
    """The ledger cannot price or date this subscription; the message says which record and field."""


def vendor_states(snapshots: Sequence[Snapshot]) -> list[VendorState]:
    """Collapse snapshots (observation order) into runs of identical billing state."""
    runs: list[VendorState] = []
    last: tuple | None = None  # the billing state of the last run
    for snap in snapshots:
        quantity = snap.quantity
        if quantity != quantity.to_integral_value():
            raise Unbillable(f"snapshot {snap.id} quantity: {quantity} is not a whole number of seats")
        status = snap.status.lower()
        seats = 0 if status in NOT_BILLED else int(quantity)
        state = (seats, status, snap.product_id, snap.unit_cost)
        if state != last:
            runs.append(VendorState(snap.observed_on, *state, snap.id))
            last = state
    return runs


def _confirms(mutation: Mutation, before: VendorState, after: VendorState) -> bool:
    if after.status in ENDED:
        return mutation.kind == "cancel"
    if after.product != before.product:
        return mutation.kind == "upgrade" and mutation.target_product == after.product
    if after.quantity != before.quantity and mutation.kind in ("increase", "decrease"):
        if mutation.new_quantity is not None:
            return mutation.new_quantity == after.quantity
        return mutation.delta is not None and before.quantity + mutation.delta == after.quantity
    return False


def confirming_mutation(mutations: Sequence[Mutation], before: VendorState, after: VendorState,
                        not_before: dt.date) -> Mutation | None:
    """The latest mutation dated in ``(not_before, after.day]`` that asked for exactly the change the vendor shows."""
    found = None
    for mutation in mutations:
        if not_before < mutation.effective_date <= after.day and _confirms(mutation, before, after):
            found = mutation
    return found


@dataclass(frozen=True)
class Pricing:
    """How a build prices licences: the tenant's price book, which edition prices each period, and the policy."""

    book: PriceBook
    editions: Editions
    policy: PricePolicy


def _price(pricing: Pricing, days: PriceDays, sub: Subscription, licences: dict[str, Licence], state: VendorState,
           day: dt.date) -> Price:
    """The price of ``state`` in the charge period containing ``day``: the rules of the policy's day, read from the
    edition that period was (or will be) invoiced with; ``licences`` holds the subscription's licence per product."""
    unit_cost, source = state.unit_cost, f"snapshot {state.snapshot_id}"
    if unit_cost is None:
        unit_cost, source = pricing.book.vendor_cost(sub.id, state.product, day) or (None, "")
    rules_day = days.rules_day(day)
    edition, _ = pricing.editions.at(rules_day)
    price = pricing.book.licence_price(licences[state.product], rules_day, unit_cost, source, edition)
    if price is None:
        raise Unbillable(f"subscription {sub.id} ({state.product}): no price rule, and no unit cost (snapshot "
                         f"{state.snapshot_id} or cost line) for a markup rule, prices it on {rules_day}")
    return price


def build_timeline(sub: Subscription, customer: Customer, snapshots: Sequence[Snapshot],
                   mutations: Sequence[Mutation], pricing: Pricing, first_day: dt.date, until: dt.date,
                   go_live: dt.date) -> Timeline | None:
    """Terms and dated changes of ``sub`` up to ``until`` (inclusive) for a batch billing from ``first_day``;
    ``None`` when there is nothing to bill.

    Prices are read from the first day the batch can rate (:func:`first_rated_day`) on: a state before it carries
    that day's price, since no period before it is billed. So a licence whose earlier periods no rule or cost line
    prices (a Partner Center term bought long before go-live, whose cost lines are not in the ledger) is not a
    problem of a month that bills nothing of those periods."""
    if (sub.billing not in PERIODIC or sub.billing_type in ("usage", "one_time", "trial") or not snapshots
            or snapshots[0].status.lower() in ENDED):  # the first snapshot starts the first vendor state
        return None
    billing_months = parse_duration(sub.billing)
    term_months = parse_duration(sub.term) if sub.term in PERIODIC else billing_months
    if term_months % billing_months:
        raise Unbillable(f"subscription {sub.id} term: {sub.term} is not a multiple of billing {sub.billing}")
    start = first_state_day(sub.start_date, snapshots[0].observed_on)
    # Whether this batch can rate anything is known from the start and anchor, before any change is dated: a
    # licence it rates nothing of (an annual one between its bill dates) is not read further.
    days = PriceDays(start, sub.anchor_date or start, billing_months, term_months, pricing.policy)
    priced_from, opening = first_rated_day(start, days.anchor, billing_months, first_day, go_live)
    if priced_from > until:
        return None
    runs = vendor_states(snapshots)
    notes: dict[str, str] = {}
    # The effective day of each vendor state, and which ledger records say so.
    dated: list[tuple[dt.date, VendorState, tuple[str, ...]]] = [(start, runs[0], (f"snapshot:{runs[0].snapshot_id}",))]
    for before, after in pairwise(runs):
        previous_day = dated[-1][0]
        mutation = confirming_mutation(mutations, before, after, previous_day)
        inputs = (f"snapshot:{after.snapshot_id}",)
        day = after.day
        if mutation is not None:
            day = mutation.effective_date
            inputs += (f"mutation:{mutation.id}",)
        else:
            notes[inputs[0]] = f"change first seen {after.day}, no confirming mutation: billed from that day"
        dated.append((max(day, previous_day), after, inputs))
        if after.status in ENDED:
            break
    if sub.end_date is not None and dated[-1][1].status not in ENDED and sub.end_date < until:
        ended = VendorState(sub.end_date + ONE_DAY, 0, "cancelled", dated[-1][1].product, None, 0)
        dated.append((max(ended.day, dated[-1][0]), ended, (f"subscription:{sub.id}.end_date",)))
    # Rule versions and editions can change the price on days the vendor state does not change.
    licences = {state.product: licence(sub, customer, state.product) for _, state, _ in dated}
    changes_at = chain(pricing.editions.change_days,
                       *(pricing.book.version_days(product_licence) for product_licence in licences.values()))
    event_days = {day for day, _, _ in dated} | {days.boundary(d) for d in changes_at if start < d <= until}
    first_state = dated[0][1]
    first_price = _price(pricing, days, sub, licences, first_state, priced_from)
    terms = SubscriptionTerms(
        subscription_id=str(sub.id),
        currency=sub.currency,
        start=start,
        quantity=first_state.quantity,
        unit_price=first_price.unit_price,
        term_months=term_months,
        billing_months=billing_months,
        anchor=sub.anchor_date,
        product=first_state.product,
        price_version=first_price.label,
        input_ids=dated[0][2],
    )
    changes: list[Change] = []
    current = (first_state, first_price)
    cursor = 0
    later = sorted(d for d in event_days if start < d <= until) if len(event_days) > 1 else ()  # else: only ``start``
    for day in later:
        while cursor + 1 < len(dated) and dated[cursor + 1][0] <= day:
            cursor += 1
        _, state, inputs = dated[cursor]
        if state.status in ENDED:
            changes.append(Change(effective=day, cancel=True, input_ids=inputs))
            break
        price = _price(pricing, days, sub, licences, state, max(day, priced_from))
        before_state, before_price = current
        suspended = state.status in SUSPENDED
        change = Change(
            effective=day,
            quantity=state.quantity if state.quantity != before_state.quantity else None,
            unit_price=price.unit_price if price.unit_price != before_price.unit_price else None,
            product=state.product if state.product != before_state.product else None,
            suspended=suspended if suspended != (before_state.status in SUSPENDED) else None,
            price_version=price.label if price.label != before_price.label else None,
            input_ids=inputs if dated[cursor][0] == day else (price.label,),
        )
        if (change.quantity, change.unit_price, change.product, change.suspended) != (None, None, None, None):
            changes.append(change)
        current = (state, price)
    def repriced(period_start: dt.date) -> str | None:
        reprice = pricing.editions.at(days.rules_day(period_start))[1]
        return reprice.describe() if reprice is not None else None

    return Timeline(terms, changes, priced_from, opening, notes, repriced if pricing.editions.reprices else None)
