"""Property: whatever seat changes a month saw, and whatever arrives late after it was exported, the lines billed for
that month (its own batch plus the next month's corrections) add up to the exact day-weighted amount of the final
timeline, within one rounding step per line; and rebuilding the next batch changes nothing. Both databases."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from config import Settings
from ledger.models import InvoiceLine
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mark_exported, mutation, snapshot

PRICE = Decimal("34.50")  # 30.00 cost + 15 % (nl-bv)
YEARS = itertools.count(2030)  # each example bills its own months, so examples never share a batch
CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))

changes = st.lists(st.tuples(st.integers(2, 29), st.integers(0, 25)), max_size=3, unique_by=lambda c: c[0])


def quantity_on(day: int, start: int, moves: list[tuple[int, int]]) -> int:
    quantity = start
    for when, new in moves:
        if when <= day:
            quantity = new
    return quantity


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(1, 25), moves=changes, late=st.tuples(st.integers(2, 30), st.integers(0, 25)))
def test_month_billed_equals_final_timeline(settings: Settings, start: int, moves: list[tuple[int, int]],
                                            late: tuple[int, int]) -> None:
    # the desk's late mutation asks for a seat count the vendor never showed before, so it can only confirm the
    # late change (a mutation confirms the first vendor change to its quantity: tested in test_batch_build)
    assume(late[1] not in {start, *(quantity for _, quantity in moves)})
    year = next(YEARS)
    initialise(settings)  # idempotent: the first example of each database creates the ledger
    april, may = f"{year}-04", f"{year}-05"
    customer = add_customer(settings, "nl-bv", f"Customer {year}")
    sub = add_subscription(settings, "nl-bv", customer, f"sub-{year}", f"{year}-04-01", anchor=f"{year}-04-01")
    moves = sorted(moves)
    snapshot(settings, sub, f"{year}-04-01", start)
    for day, quantity in moves:
        snapshot(settings, sub, f"{year}-04-{day:02d}", quantity)
    build_batch(settings, "nl-bv", april, actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", april, actor(settings, "anna"), CLOCK)
    mark_exported(settings, "nl-bv", april)
    last_quantity = quantity_on(30, start, moves)
    late_day, late_quantity = late
    if late_quantity != last_quantity:
        mutation(settings, "nl-bv", customer, sub, "increase", f"{year}-04-{late_day:02d}", new_quantity=late_quantity)
        snapshot(settings, sub, f"{year}-05-02", late_quantity)
        changed_on = [day for day, quantity in moves if quantity != quantity_on(day - 1, start, moves)]
        if late_day > max([1, *changed_on]):  # the desk's date is after the vendor's last change: it wins
            moves = [*moves, (late_day, late_quantity)]
    first = build_batch(settings, "nl-bv", may, actor(settings, "finn"), CLOCK)
    again = build_batch(settings, "nl-bv", may, actor(settings, "finn"), CLOCK)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    assert again.totals == first.totals
    with UnitOfWork(engine_for(settings)) as uow:
        billed = uow.session.scalars(select(InvoiceLine).where(InvoiceLine.subscription_id == sub,
                                                               InvoiceLine.bill_month == april)).all()
    exact = PRICE * sum(quantity_on(day, start, moves) for day in range(1, 31)) / 30
    total = sum((line.amount for line in billed), Decimal(0))
    assert abs(total - exact) <= Decimal("0.005") * len(billed) + Decimal("1E-20"), (total, exact, len(billed))
    for line in billed:
        if line.version > 1 or line.kind == "correction":
            assert line.reason_code == "late_snapshot"
    approve_batch(settings, "nl-bv", may, actor(settings, "anna"), CLOCK)  # months are approved in order
