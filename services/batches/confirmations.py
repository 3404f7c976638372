"""Which desk mutation confirms which vendor change, and from which day each vendor state holds.

Who wins (DESIGN §3): the vendor shows *what* changed, a mutation says *when*. Reconciliation looks back a few days
for the mutation (the desk may enter it before the vendor shows it), and without a further rule an older mutation
asking for the same seat count would "confirm" every later vendor change to that count. So a mutation confirms one
change only: the first change on or after its effective date that shows what it asked for, if the mutation is
within the look-back of that change; once used it confirms nothing else. Whether a change matches a mutation is
the batch's own test (``services.batches.timeline.confirming_mutation``), so both read the vendor the same way.

A confirmed change takes effect on its mutation's date when that falls after the previous change's day (as the
batch dates it), otherwise on the day the vendor showed it: a snapshot taken the night before a cancellation still
shows the seats, yet the seats end on the cancellation's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from ledger.models import Mutation
from services.batches.timeline import VendorState, confirming_mutation, first_state_day

LOOK_BACK = dt.timedelta(days=7)  # the vendor may show a change up to this long before the desk's effective date


@dataclass(frozen=True)
class VendorChange:
    """One change between two vendor states, the mutation that confirms it (if any) and the day it takes effect."""

    before: VendorState
    after: VendorState
    mutation: Mutation | None
    day: dt.date


def _matches(mutation: Mutation, before: VendorState, after: VendorState) -> bool:
    """The vendor shows, on or after the mutation's date, exactly the change it asked for."""
    return confirming_mutation([mutation], before, after, dt.date.min) is not None


def vendor_changes(states: Sequence[VendorState], mutations: Sequence[Mutation], look_back: dt.timedelta,
                   start_date: dt.date | None = None) -> list[VendorChange]:
    """Every change of ``states`` (in order) with its confirming mutation; each mutation confirms one change at most.

    A mutation is dated no earlier than ``look_back`` before the day the state it changes was first seen. The first
    state holds from the day the batch dates it from (``timeline.first_state_day``: the subscription's
    ``start_date`` when before the first snapshot), so a cancellation dated the day the licence was first read ends
    it on that day here as on the invoice."""
    pairs = list(pairwise(states))
    chosen: dict[int, Mutation] = {}
    for mutation in mutations:
        index = next((i for i, (before, after) in enumerate(pairs)
                      if after.day >= mutation.effective_date and _matches(mutation, before, after)), None)
        if index is None or mutation.effective_date <= pairs[index][0].day - look_back:
            continue
        rival = chosen.get(index)
        if rival is None or (rival.effective_date, rival.id) < (mutation.effective_date, mutation.id):
            chosen[index] = mutation
    changes: list[VendorChange] = []
    previous = first_state_day(start_date, states[0].day) if states else dt.date.min
    for index, (before, after) in enumerate(pairs):
        mutation = chosen.get(index)
        day = mutation.effective_date if mutation is not None and mutation.effective_date > previous else after.day
        changes.append(VendorChange(before, after, mutation, day))
        previous = day
    return changes


def dated_states(states: Sequence[VendorState], changes: Sequence[VendorChange]) -> list[VendorState]:
    """``states`` with each later state's ``day`` moved to the day its change takes effect."""
    return [*states[:1], *(change.after._replace(day=change.day) for change in changes)]
