"""One run per source at a time: a sync of a source another live run is storing is skipped and reads nothing; the
lease goes with the run's end, or with its abandonment (``services.sync.run``, ``sync:<source>``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config import Settings
from connectors.records import PullResult
from ledger.models import Subscription, SyncRun
from services.clock import FixedClock, SystemClock
from services.operations import initialise
from services.runners import HOST
from services.runtime import engine_for
from services.sync import SyncReport, sync
from services.sync.runs import SYNC_RUN_TTL, sync_lease
from services.uow import UnitOfWork
from tests.identity import nightly
from tests.interleave import b_paused_for_a
from tests.services.sync.test_sync_support import Vendor, licence, night

TONIGHT = Vendor({"pax8": PullResult(licences=(licence("s1", 10), licence("s2", 3)))})


def run(settings: Settings) -> SyncReport:
    return sync(settings, FixedClock(night(1)), who=nightly(settings), source="pax8", open_reader=TONIGHT.open)


def runs_of(settings: Settings) -> list[tuple[str, str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        return [(r.source, r.status) for r in uow.session.scalars(select(SyncRun).order_by(SyncRun.id))]


def test_a_source_another_live_run_holds_is_skipped(settings: Settings) -> None:
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.leases.acquire(sync_lease("pax8"), "other-host:41:abc", SystemClock().now(), SYNC_RUN_TTL)
    (skipped,) = run(settings).runs
    assert (skipped.status, skipped.run_id) == ("skipped", None)
    assert skipped.error == "another sync of pax8 is running (other-host:41:abc); this one read nothing"
    assert runs_of(settings) == []


def test_the_lease_goes_with_the_run_and_with_an_abandoned_one(settings: Settings) -> None:
    initialise(settings)
    assert [r.status for r in run(settings).runs] == ["succeeded"]
    dead = f"{HOST}:999999999:gone"  # a process of this host that no longer runs
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        uow.sync_runs.start("pax8", night(2), tenant_id, dead)
        assert uow.leases.acquire(sync_lease("pax8"), dead, SystemClock().now(), SYNC_RUN_TTL)
    assert [r.status for r in run(settings).runs] == ["succeeded"]  # the dead run's lease did not hold it off
    assert runs_of(settings) == [("pax8", "succeeded"), ("pax8", "abandoned"), ("pax8", "succeeded")]


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_syncs_of_one_source_at_once_store_it_once(settings: Settings) -> None:
    """B starts its run and is paused before the run's row is written; A's sync of the same source meanwhile waits
    for B's lease, then is skipped."""
    initialise(settings)
    a: list[SyncReport] = []
    b = b_paused_for_a(engine_for(settings), ("INSERT INTO sync_runs",), lambda _: run(settings),
                       lambda: a.append(run(settings)))
    assert [r.status for r in b.runs] == ["succeeded"]
    assert [r.status for r in a[0].runs] == ["skipped"]
    assert runs_of(settings) == [("pax8", "succeeded")]
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Subscription)) == 2
