"""Billed seats against the vendor's seats, stretch by stretch: one check for reconciliation and the review cockpit.

A month's seats are judged against what was billed for them only once someone has decided what to bill: before
approval the review cockpit (``services.batches.findings``) compares the draft it is about to approve, after approval
reconciliation (``services.desk.reconcile``) compares the approved and exported lines. Both read the vendor the same
way (``services.batches.confirmations``: a confirmed change counts from its mutation's date) and count billed seats
the same way (``services.batches.billed_seats``), through the functions here, so "billed 12, vendor 14" means the
same thing on the batch page and in the discrepancy list.

The views only change where a vendor state, a mutation or an invoice line starts or ends, so the month is walked
from one such break to the next rather than day by day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select

from ledger.models import Batch, Mutation, Snapshot, Subscription
from ledger.repositories.discrepancies import BilledView
from services.batches.billed_seats import billed_seats
from services.batches.confirmations import LOOK_BACK, dated_states, vendor_changes
from services.batches.lines import DraftLine
from services.batches.timeline import ENDED, Unbillable, VendorState, vendor_states
from services.uow import UnitOfWork

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CountGap:
    """Days ``first``..``last`` (inclusive) on which the billed seats differ from the vendor's."""

    first: dt.date
    last: dt.date
    billed: Decimal
    vendor: Decimal

    @property
    def seat_days(self) -> tuple[Decimal, int]:
        return self.billed - self.vendor, (self.last - self.first).days + 1


def vendor_on(states: Sequence[VendorState], day: dt.date) -> Decimal | None:
    """The vendor's seats on ``day`` (0 once ended; None before the first state)."""
    current = None
    for state in states:
        if state.day > day:
            break
        current = Decimal(0) if state.status in ENDED else Decimal(state.quantity)
    return current


def line_breaks(lines: Iterable[BilledView]) -> set[dt.date]:
    """The days on which a line starts covering, or stops covering (the day after its last)."""
    breaks: set[dt.date] = set()
    for line in lines:
        if line.period_from and line.period_to:
            breaks |= {line.period_from, line.period_to + DAY}
    return breaks


def stretches(first: dt.date, last: dt.date, breaks: Iterable[dt.date],
              views: Callable[[dt.date], tuple]) -> list[tuple[dt.date, dt.date, tuple]]:
    """``first``..``last`` cut where ``views`` may change (``breaks``), neighbours with equal views merged."""
    starts = sorted({first, *(day for day in breaks if first < day <= last)})
    found: list[tuple[dt.date, dt.date, tuple]] = []
    for start, end in zip(starts, [*(day - DAY for day in starts[1:]), last], strict=True):
        seen = views(start)
        if found and found[-1][2] == seen:
            found[-1] = (found[-1][0], end, seen)
        else:
            found.append((start, end, seen))
    return found


def count_gaps(states: Sequence[VendorState], billed: Sequence[BilledView], first: dt.date,
               last: dt.date) -> list[CountGap]:
    """The stretches of ``first``..``last`` where ``billed`` lines hold other seats than the (dated) vendor states;
    days without a billed line or without a vendor state are not judged."""
    breaks = {state.day for state in states} | line_breaks(billed)
    return [CountGap(start, end, seats, vendor)
            for start, end, (vendor, seats) in stretches(first, last, breaks,
                                                          lambda day: (vendor_on(states, day),
                                                                       billed_seats(billed, day)))
            if seats is not None and vendor is not None and seats != vendor]


def describe(gaps: Sequence[CountGap]) -> str:
    return "; ".join(f"billed {gap.billed}, vendor {gap.vendor} from {gap.first} to {gap.last}" for gap in gaps)


def dated_vendor_states(history: Sequence[Snapshot], mutations: Sequence[Mutation],
                        start_date: dt.date | None) -> list[VendorState]:
    """The vendor states of a subscription's snapshots (``start_date``: the subscription's), each change dated as the
    batch dates it (may raise ``Unbillable``)."""
    states = vendor_states(history)
    return dated_states(states, vendor_changes(states, mutations, LOOK_BACK, start_date))


def draft_gaps(uow: UnitOfWork, batch: Batch, first: dt.date, last: dt.date) -> dict[int, list[CountGap]]:
    """Per subscription, where the draft ``batch`` with the approved and exported lines bills other seats than the
    vendor shows in its month. Only subscriptions with something new in the month are read (a vendor state first
    seen or a mutation dated in it: both chosen in SQL), and only their mutations: the others were judged with the
    month before, and the legal entity's mutations of all time are not loaded for a few."""
    dated_in_month = select(Mutation.subscription_id).where(
        Mutation.tenant_id == batch.tenant_id, Mutation.status != "cancelled", Mutation.effective_date >= first,
        Mutation.effective_date <= last)
    seen_in_month = select(Snapshot.id).where(Snapshot.subscription_id == Subscription.id,
                                              Snapshot.observed_on >= first, Snapshot.observed_on <= last)
    starts = dict(uow.session.execute(
        select(Subscription.id, Subscription.start_date)
        .where(Subscription.tenant_id == batch.tenant_id, Subscription.billing_type != "one_time",
               or_(seen_in_month.exists(), Subscription.id.in_(dated_in_month)))
        .order_by(Subscription.id)).tuples().all())
    ids = list(starts)
    mutations: dict[int, list[Mutation]] = defaultdict(list)  # all of their history: a change is dated by them
    for mutation in uow.mutations.standing_rows(ids):
        mutations[mutation.subscription_id].append(mutation)
    histories: dict[int, list[Any]] = defaultdict(list)  # rows with the snapshot fields a timeline reads
    for snapshot in uow.snapshots.states_for_subscriptions(ids, last):
        histories[snapshot.subscription_id].append(snapshot)
    lines: dict[int, list[BilledView]] = defaultdict(list)
    for line in uow.discrepancies.billed_lines(ids, first, last, draft=batch.id):
        lines[line.subscription_id].append(line)
    return walked_gaps(starts, histories, mutations, lines, first, last)


def walked_gaps(starts: Mapping[int, dt.date | None], histories: Mapping[int, Sequence[Snapshot]],
                mutations: Mapping[int, Sequence[Mutation]], lines: Mapping[int, Sequence[BilledView]],
                first: dt.date, last: dt.date) -> dict[int, list[CountGap]]:
    """The gaps of the subscriptions of ``starts`` (id -> start date), each from its snapshots (observed on or before
    ``last``), standing mutations and billed lines overlapping ``first``..``last``: :func:`draft_gaps` once it has
    read them, and a build's range with what it read and drafted itself (:class:`NewInMonth`)."""
    found: dict[int, list[CountGap]] = {}
    for sub_id, start in starts.items():
        try:
            states = dated_vendor_states(histories.get(sub_id, ()), mutations.get(sub_id, ()), start)
        except Unbillable:
            continue  # reconciliation names it as unreconcilable
        gaps = count_gaps(states, lines.get(sub_id, ()), first, last)
        if gaps:
            found[sub_id] = gaps
    return found


@dataclass
class NewInMonth:
    """What a build's range read of its subscriptions with something new in the batch's month (a vendor state first
    seen or a standing mutation dated in it), the subscriptions :func:`draft_gaps` walks: so the build works out the
    draft's vendor counts per range from the rows it already holds, instead of reading them all again once the draft
    is written (at the largest hosts, half of the review's time)."""

    first: dt.date
    last: dt.date
    starts: dict[int, dt.date | None] = field(default_factory=dict)
    histories: dict[int, Sequence[Snapshot]] = field(default_factory=dict)
    mutations: dict[int, Sequence[Mutation]] = field(default_factory=dict)

    def add(self, sub: Subscription, history: Sequence[Snapshot], standing: Sequence[Mutation]) -> None:
        """Keep ``sub`` (its snapshots observed on or before ``last``, in observation order, so the last one was
        observed on the latest day; its standing mutations) when something of it is new in the month. Called for
        every subscription of a range: a million at the largest hosts."""
        if sub.billing_type == "one_time":
            return
        if ((history and history[-1].observed_on >= self.first)
                or (standing and any(self.first <= mutation.effective_date <= self.last for mutation in standing))):
            self.starts[sub.id] = sub.start_date
            self.histories[sub.id] = history
            self.mutations[sub.id] = standing

    def gaps(self, uow: UnitOfWork, drafted: Iterable[DraftLine], closed: bool) -> dict[int, list[CountGap]]:
        """The gaps of these subscriptions against ``drafted`` (the range's draft lines, as the build writes them)
        and, when a batch is ``closed`` (approved or exported), the lines billed before that overlap the month."""
        lines: dict[int, list[BilledView]] = defaultdict(list)
        for line in drafted:
            if (line.subscription_id in self.starts and line.period_from is not None and line.period_to is not None
                    and line.period_from <= self.last and line.period_to >= self.first):
                lines[line.subscription_id].append(draft_view(line))
        if closed:
            for billed in uow.discrepancies.billed_lines(list(self.starts), self.first, self.last):
                lines[billed.subscription_id].append(billed)
        return walked_gaps(self.starts, self.histories, self.mutations, lines, self.first, self.last)


def draft_view(line: DraftLine) -> BilledView:
    """A draft line as the billed view reads it once written (no id yet)."""
    correction = line.lineage.get("correction")
    return BilledView(None, line.subscription_id, line.base_key, line.version, line.kind, line.quantity,
                      line.unit_price, line.amount, line.period_from, line.period_to,
                      None if correction is None else correction["should"])
