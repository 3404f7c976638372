"""A mutation confirms one vendor change: the first on or after its date that shows what it asked for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.models import Mutation
from services.batches.confirmations import dated_states, vendor_changes
from services.batches.timeline import VendorState

D = dt.date
WEEK = dt.timedelta(days=7)


def seats(*days: tuple[int, int | str]) -> list[VendorState]:
    """Vendor states of October: (day, seats) or (day, "cancelled")."""
    return [VendorState(D(2026, 10, day) if day > 0 else D(2026, 9, 30), 0 if shown == "cancelled" else shown,
                        "cancelled" if shown == "cancelled" else "active", "P1", None, number)
            for number, (day, shown) in enumerate(days)]


def to(ident: int, day: int, quantity: int | None) -> Mutation:
    """A mutation of October ``day`` to ``quantity`` seats (None: a cancellation)."""
    if quantity is None:
        return Mutation(id=ident, kind="cancel", effective_date=D(2026, 10, day))
    return Mutation(id=ident, kind="increase", effective_date=D(2026, 10, day), new_quantity=Decimal(quantity))


@pytest.mark.parametrize(("states", "mutations", "confirmed"), [
    # each change confirmed by its own mutation
    (seats((0, 4), (3, 6), (9, 10)), [to(1, 3, 6), to(2, 9, 10)], [1, 2]),
    # the vendor went back to 14 later: the mutation to 14 was used by the first change, the return is unexplained
    (seats((0, 12), (24, 14), (28, 15), (29, 14)), [to(1, 24, 14), to(2, 28, 15)], [1, 2, None]),
    # the same, with the desk's own mutation for the return
    (seats((0, 12), (24, 14), (28, 15), (29, 14)), [to(1, 24, 14), to(2, 28, 15), to(3, 29, 14)], [1, 2, 3]),
    # a mutation entered before the vendor shows it confirms the first matching change, not an earlier other one
    (seats((0, 4), (5, 8), (6, 10)), [to(1, 3, 10)], [None, 1]),
    # two tickets for the same change: the later one dates it; the earlier one is spent on it too
    (seats((0, 4), (5, 6), (7, 4), (8, 6)), [to(1, 2, 6), to(2, 4, 6)], [2, None, None]),
    # a mutation older than the look-back confirms nothing
    (seats((0, 4), (20, 6), (28, 8)), [to(1, 1, 8)], [None, None]),
    # a change the vendor showed before the mutation's date is not confirmed by it
    (seats((0, 4), (5, 6)), [to(1, 6, 6)], [None]),
    (seats((0, 10), (2, "cancelled")), [to(1, 1, None)], [1]),
])
def test_a_mutation_confirms_one_change(states: list[VendorState], mutations: list[Mutation],
                                        confirmed: list[int | None]) -> None:
    changes = vendor_changes(states, mutations, WEEK)
    assert [None if c.mutation is None else c.mutation.id for c in changes] == confirmed


def test_a_confirmed_change_holds_from_the_mutation_date() -> None:
    # the night's snapshot of the 1st was taken before the cancellation dated the 1st
    states = seats((0, 10), (2, "cancelled"), (5, 3))
    changes = vendor_changes(states, [to(7, 1, None)], WEEK)
    assert [(c.day, c.after.status) for c in changes] == [(D(2026, 10, 1), "cancelled"), (D(2026, 10, 5), "active")]
    assert [s.day for s in dated_states(states, changes)] == [D(2026, 9, 30), D(2026, 10, 1), D(2026, 10, 5)]


def test_a_mutation_dated_before_the_previous_change_does_not_move_it_back() -> None:
    states = seats((0, 4), (4, 8), (5, 6))
    changes = vendor_changes(states, [to(1, 3, 6)], WEEK)  # within the look-back of the 8-seat state
    assert [(c.mutation.id if c.mutation else None, c.day.day) for c in changes] == [(None, 4), (1, 5)]


def test_a_cancellation_dated_the_day_a_licence_was_first_read_ends_it_that_day() -> None:
    """Bought on the 30th, first read the night of the 1st, cancelled on the 1st inside the 7-day window: the batch
    bills the 30th only (its first state holds from the subscription's start), so the vendor counts must date the
    cancellation on the 1st too, not on the 2nd when the vendor showed it."""
    states = seats((1, 6), (2, "cancelled"))
    assert [c.day for c in vendor_changes(states, [to(1, 1, None)], WEEK)] == [D(2026, 10, 2)]  # no start known
    changes = vendor_changes(states, [to(1, 1, None)], WEEK, start_date=D(2026, 9, 30))
    assert [(c.mutation.id if c.mutation else None, c.day) for c in changes] == [(1, D(2026, 10, 1))]
