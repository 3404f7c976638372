"""The distributor worlds' seat changes keep Microsoft's NCE rule (reference/microsoft.md §3.5): seats can be reduced
only within the return window of the batch that added them (168 hours), as Partner Center states it per subscription
(https://learn.microsoft.com/en-us/dotnet/api/microsoft.store.partnercenter.models.subscriptions.refundablequantitydetail
"the number of seats that can be reduced within the return window"; cancellation within 7 days of purchase or renewal:
https://learn.microsoft.com/en-us/partner-center/developer/cancel-an-azure-marketplace-subscription). Ingram CMP resells
NCE only, so a month's reduction never takes more seats than were added in the 168 hours before it, on monthly terms
as on annual ones; Pax8's lines without a commitment may drop any time and still do."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.scenario_distributors import ingram_world, pax8_world

WINDOW = dt.timedelta(hours=168)
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("seed", range(1, 9))
@pytest.mark.parametrize("month", [dt.date(2026, 2, 1), dt.date(2026, 5, 1), dt.date(2026, 10, 1)])
def test_ingram_reductions_only_take_seats_added_inside_the_window(seed: int, month: dt.date) -> None:
    for timeline in ingram_world(seed, month).seats.values():
        changes = timeline.changes(FAR)
        for when, before, after in changes:
            if after < before:
                recent = sum(new - old for at, old, new in changes if when - WINDOW < at < when and new > old)
                assert before - after <= recent, (when, before, after)


def test_pax8_lines_without_a_commitment_still_drop_any_time() -> None:
    world = pax8_world(1, dt.date(2026, 5, 1))
    free = [s["id"] for s in world.subscriptions if s["commitmentTerm"] is None and s["billingTerm"] == "Monthly"]
    drops = [(when, before, after) for sub in free for when, before, after in world.seats[sub].changes(FAR)
             if after < before]
    assert drops
