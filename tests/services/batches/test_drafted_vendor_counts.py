"""The vendor counts a build's ranges work out from the rows they already read and the lines they drafted are the
ones the review walk reads from the ledger once the draft is written (``vendor_counts.draft_gaps``), in one range
or many, with lines billed by an approved month and by the draft itself; a rebuild that changes nothing keeps the
stored figure without working it out."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from config import Settings
from rating.months import month_bounds
from services.batches import approve_batch, build_batch
from services.batches.prepared import VENDOR_COUNTS
from services.batches.vendor_counts import draft_gaps
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.batches.test_partitioned_build import with_compute

MARCH = FixedClock(dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC))
APRIL = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))
RANGES = "services.batches.prepared"


def _book(settings: Settings) -> dict[str, int]:
    """A year's licences billed in an approved March; in April one grows to seats no rule prices (the draft cannot
    rate it, and leaves its March charge as billed: the walk finds billed 3 against the vendor's 4), another
    grows priced (the draft credits March's 3 seats and rebills 5: no gap, counting the draft's lines)."""
    initialise(settings)
    subs = {}
    for name, billing, seats in (("Unpriced BV", "P1Y", 3), ("Grows BV", "P1Y", 3), ("Steady BV", "P1M", 2)):
        subs[name] = add_subscription(settings, "nl-bv", add_customer(settings, "nl-bv", name), name, "2026-03-01",
                                      billing=billing)
        snapshot(settings, subs[name], "2026-03-01", seats, unit_cost="300.00" if billing == "P1Y" else "30.00")
    build_batch(settings, "nl-bv", "2026-03", actor(settings, "finn"), MARCH)
    approve_batch(settings, "nl-bv", "2026-03", actor(settings, "anna"), MARCH)
    snapshot(settings, subs["Unpriced BV"], "2026-04-15", 4, unit_cost=None)
    snapshot(settings, subs["Grows BV"], "2026-04-10", 5, unit_cost="300.00")
    return subs


def _stored_and_walked(settings: Settings) -> tuple[dict, dict]:
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        walked = {str(sub): [[str(g.first), str(g.last), str(g.billed), str(g.vendor)] for g in gaps]
                  for sub, gaps in draft_gaps(uow, batch, *month_bounds("2026-04")).items()}
        return uow.review.check(batch.id, VENDOR_COUNTS).result, walked


@pytest.mark.parametrize("partition_customers", [50_000, 1])
def test_the_ranges_vendor_counts_are_the_walks(settings: Settings, caplog: pytest.LogCaptureFixture,
                                               partition_customers: int) -> None:
    subs = _book(settings)
    built = with_compute(settings, partition_customers=partition_customers)
    with caplog.at_level(logging.INFO, logger=RANGES):
        report = build_batch(built, "nl-bv", "2026-04", actor(settings, "finn"), APRIL)
    assert any("Unpriced BV" in problem or str(subs["Unpriced BV"]) in problem for problem in report.problems)
    assert "vendor counts worked out by the build's ranges (1 subscriptions with gaps)" in caplog.text
    stored, walked = _stored_and_walked(settings)
    assert stored == walked == {str(subs["Unpriced BV"]): [["2026-04-15", "2026-04-30", "3", "4"]]}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=RANGES):
        again = build_batch(built, "nl-bv", "2026-04", actor(settings, "finn"), APRIL)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    assert "worked out by the build's ranges" not in caplog.text  # stored and still true: not worked out again
    assert _stored_and_walked(settings)[0] == stored
