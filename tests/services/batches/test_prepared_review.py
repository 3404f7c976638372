"""The review figures a build prepares (``services.batches.prepared``): the batch page reads them back only while the
ledger still agrees with them, and they equal what the page works out live.

- the stored changes per customer and subscription, cut at any row count (ties at the cut included), equal the live
  SQL aggregates, and a rebuilt previous month makes the page work them out live again;
- the stored vendor counts are what the page shows; every kind of ledger change they depend on (a new snapshot, a
  mutation's status, another batch approved, this draft rebuilt) sends the page back to the live walk; approval
  always walks afresh;
- a sync, the nightly job or ``cspbill sync``, once its sources are read, stores the figures its snapshots left
  behind.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from config import Settings
from config.schema import SourceConfig
from ledger.models import BatchChange, BatchCheck, JobRun, Mutation, Snapshot
from ledger.repositories.review import PERS
from rating.months import month_bounds
from sandbox import pax8
from sandbox.core import Clock, SandboxServer
from sandbox.tls import make_tls_files
from services.batches import approve_batch, batch_review_findings, batch_summary, build_batch, prepared
from services.batches.prepared import CHANGES, VENDOR_COUNTS
from services.clock import FixedClock
from services.errors import NotAllowed
from services.operations import execute, initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, people_env
from tests.services.batches.test_batch_support import add_customer, add_subscription, mutation, snapshot
from tests.services.batches.test_review_findings import seed_april

MARCH = FixedClock(dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC))
APRIL = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))
# name, seats in March, seats in April (None: no subscription that month); equal deltas make ties at the cuts
BOOK = [("Aap BV", 3, 5), ("Beer BV", 4, 6), ("Cavia BV", 10, 8), ("Das BV", 2, 2), ("Eend BV", 7, None),
        ("Fret BV", None, 4), ("Gans BV", 1, 3), ("Haas BV", 6, 6)]


def _book(settings: Settings) -> dict[str, int]:
    """March and April of ``BOOK`` built; returns each customer's subscription."""
    initialise(settings)
    subs = {}
    for name, march, april in BOOK:
        sub = add_subscription(settings, "nl-bv", add_customer(settings, "nl-bv", name), name,
                               "2026-03-01" if march else "2026-04-01")
        subs[name] = sub
        if march:
            snapshot(settings, sub, "2026-03-01", march)
        if april:
            snapshot(settings, sub, "2026-04-01", april)
        else:
            snapshot(settings, sub, "2026-04-01", march, status="deleted")
    finn = actor(settings, "finn")
    build_batch(settings, "nl-bv", "2026-03", finn, MARCH)
    build_batch(settings, "nl-bv", "2026-04", finn, APRIL)
    return subs


def _both(settings: Settings, per: str, rows: int) -> tuple[tuple, tuple]:
    with UnitOfWork(engine_for(settings)) as uow:
        tenant = uow.tenants.by_code("nl-bv")
        batch, previous = uow.batches.for_month(tenant.id, "2026-04"), uow.batches.for_month(tenant.id, "2026-03")
        counts = uow.review.check(batch.id, CHANGES).result
        assert counts == {"customer": 6, "subscription": 6}
        return ((uow.review.stored_changes(batch.id, per, rows), counts[per]),
                uow.review.changes(batch.id, previous.id, per, rows))


@pytest.mark.parametrize("per", PERS)
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 50])
def test_the_stored_changes_are_the_live_ones_at_every_cut(settings: Settings, per: str, rows: int) -> None:
    _book(settings)
    stored, live = _both(settings, per, rows)
    assert stored == live
    assert len(stored[0]) == min(rows, 6) and stored[1] == 6


def test_the_page_reads_the_stored_changes_until_the_previous_month_is_rebuilt(settings: Settings) -> None:
    subs = _book(settings)
    finn = actor(settings, "finn")
    with UnitOfWork(engine_for(settings), write=True) as uow:  # marked, to see which the page reads
        april = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        uow.session.execute(update(BatchChange).where(BatchChange.batch_id == april.id, BatchChange.per == "customer")
                            .values(now_units=123_4500))
    shown = {c["name"]: c["amount"] for c in batch_summary(settings, "nl-bv", "2026-04", finn, rows=50)["diff"]
             ["customers"]}
    assert set(shown.values()) == {"123.45"}  # the stored rows, as marked
    snapshot(settings, subs["Das BV"], "2026-03-10", 9)  # March changes: Das BV is billed more in March
    build_batch(settings, "nl-bv", "2026-03", finn, MARCH)
    shown = {c["name"]: c for c in batch_summary(settings, "nl-bv", "2026-04", finn, rows=50)["diff"]["customers"]}
    assert "123.45" not in {c["amount"] for c in shown.values()}  # worked out live: March moved on
    assert shown["Das BV"]["status"] == "changed"
    assert shown == {c["name"]: c for c in batch_summary(settings, "nl-bv", "2026-04", finn)["diff"]["customers"]}


def _mark_vendor_counts(settings: Settings, result: dict) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.execute(update(BatchCheck).where(BatchCheck.kind == VENDOR_COUNTS).values(result=result))


def _shown_counts(settings: Settings) -> list[str]:
    return [f["sentence"] for f in batch_review_findings(settings, "nl-bv", "2026-04", actor(settings, "finn"))
            if f["kind"] == "billed_vs_vendor"]


MARKED = "billed 1, vendor 2 from 2026-04-01 to 2026-04-02"


def _prepare_now(settings: Settings) -> None:
    """What the build does once its lines are written (here without a rebuild, which would bill the new seat)."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        prepared.prepare_review(uow, batch, *month_bounds("2026-04"), APRIL.now())


def test_the_page_shows_the_stored_vendor_counts_and_approval_walks_them_afresh(settings: Settings) -> None:
    seed_april(settings)  # a snapshot seen after the build: the draft bills 5, the vendor shows 6 from the 10th
    _prepare_now(settings)
    assert _shown_counts(settings) == ["billed 5, vendor 6 from 2026-04-10 to 2026-04-30"]
    _mark_vendor_counts(settings, {})  # as if the walk had found nothing
    assert _shown_counts(settings) == []
    with pytest.raises(NotAllowed, match="billed 5, vendor 6"):
        approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), APRIL)


def _new_snapshot(settings: Settings, subs: dict[str, int]) -> None:
    snapshot(settings, subs["sub Marge BV"], "2026-04-20", 5)


def _mutation_status(settings: Settings, subs: dict[str, int]) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.execute(update(Mutation).values(status="cancelled"))


def _march_approved(settings: Settings, subs: dict[str, int]) -> None:
    """Another batch's lines now count as billed (an empty March, approved)."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        march = uow.batches.add(uow.tenants.by_code("nl-bv").id, "2026-03", "finn", MARCH.now())
        march.status = "approved"


def _rebuilt(settings: Settings, subs: dict[str, int]) -> None:
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), APRIL)


@pytest.mark.parametrize("change", [_new_snapshot, _mutation_status, _march_approved, _rebuilt])
def test_each_input_of_the_vendor_counts_sends_the_page_back_to_the_live_walk(settings: Settings,
                                                                            change: object) -> None:
    subs = seed_april(settings)
    mutation(settings, "nl-bv", subs["Marge BV"], subs["sub Marge BV"], "increase", "2026-04-25", 7)
    _prepare_now(settings)
    _mark_vendor_counts(settings, {str(subs["sub Telt BV"]): [["2026-04-01", "2026-04-02", "1", "2"]]})
    assert _shown_counts(settings) == [MARKED]
    change(settings, subs)
    assert MARKED not in _shown_counts(settings)


def _sync_job(settings: Settings, source: dict, tmp_path: Path) -> None:
    nightly = settings.model_copy(update={"sources": [SourceConfig(**source)]})
    assert execute(nightly, "sync:pax8-nl", APRIL) == "succeeded"


def _sync_cli(settings: Settings, source: dict, tmp_path: Path) -> None:
    """``cspbill sync`` as the operator runs it by hand, with the same source in config.yaml."""
    data = demo_config_data()
    data["database"] = {"url": settings.database.url, "url_env": None}
    data["sources"] = [source]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": APRIL.now().isoformat(), **people_env(config),
           "PREP_PAX8_ID": pax8.CREDENTIALS["client_id"], "PREP_PAX8_SECRET": pax8.CREDENTIALS["client_secret"]}
    done = run_cli(["sync"], env=env)
    assert done.returncode == 0, done.stderr
    assert "draft batch nl-bv 2026-04: review figures worked out again (vendor_counts)" in done.stdout, done.stdout
    done = run_cli(["sync", "--json"], env=env)  # another run stored: its snapshots are counted in again
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["review_refreshed"] == {"nl-bv": {"2026-04": [VENDOR_COUNTS]}}


@pytest.mark.parametrize("run_sync", [_sync_job, _sync_cli])
def test_a_sync_brings_the_stored_vendor_counts_back_in_step(settings: Settings, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, run_sync: object) -> None:
    """A night's snapshots leave the draft's stored vendor counts behind (the page would walk every subscription on
    each view until the next build); a sync, the nightly job or ``cspbill sync`` by hand, works them out again once
    its sources are read."""
    seed_april(settings)  # the draft, then a snapshot it has not seen: its stored vendor counts no longer hold
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        assert prepared._fresh(uow, batch, VENDOR_COUNTS, prepared._vendor_count_inputs(uow, batch)) is None
    tls = make_tls_files(tmp_path / "tls")
    monkeypatch.setenv("PREP_PAX8_ID", pax8.CREDENTIALS["client_id"])
    monkeypatch.setenv("PREP_PAX8_SECRET", pax8.CREDENTIALS["client_secret"])
    with SandboxServer(pax8.build(Clock(APRIL.now()), seed=2), tls=tls, prefix=pax8.PREFIX) as server:
        source = {"name": "pax8-nl", "kind": "pax8", "tenant": "nl-bv", "base_url": server.url,
                  "client_id_env": "PREP_PAX8_ID", "client_secret_env": "PREP_PAX8_SECRET",
                  "ca_bundle": str(tls.ca_cert), "retries": 0}
        run_sync(settings, source, tmp_path)
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        assert prepared._fresh(uow, batch, VENDOR_COUNTS, prepared._vendor_count_inputs(uow, batch)) is not None
        runs = uow.session.scalars(select(JobRun).where(JobRun.job_id == "sync:pax8-nl")).all()
    if run_sync is _sync_job:
        assert [run.counts["review_refreshed"] for run in runs] == [{"nl-bv": {"2026-04": [VENDOR_COUNTS]}}]
    _mark_vendor_counts(settings, {})
    assert _shown_counts(settings) == []  # the page reads the stored figure again


def test_a_sync_that_commits_after_a_later_one_still_sends_the_page_back_to_the_live_walk(settings: Settings) -> None:
    """PostgreSQL draws snapshot ids before commit: a long sync (lower ids) can commit after a short one (higher ids)
    that the figures were already worked out with. The newest snapshot id then stays the same, but the count of
    sync runs that stored snapshots does not. (SQLite lets one writer at a time: the case cannot arise there.)"""
    if settings.database.url.startswith("sqlite"):
        pytest.skip("SQLite serialises write transactions")
    subs = seed_april(settings)
    engine = engine_for(settings)
    with UnitOfWork(engine, write=True) as long_sync:  # the long sync draws its snapshot id first ...
        tenant_id = long_sync.tenants.by_code("nl-bv").id
        run = long_sync.sync_runs.start("pax8-nl", APRIL.now(), tenant_id, "test")
        long_sync.snapshots.add(Snapshot(
            subscription_id=subs["sub Marge BV"], sync_run_id=run.id, observed_at=APRIL.now(),
            observed_on=dt.date(2026, 4, 20), quantity=Decimal(9), status="active", product_id="CFQ7TTC0LH18:0001",
            unit_cost=Decimal("30.00"), currency="EUR", raw={"quantity": 9}, raw_hash=""))
        long_sync.sync_runs.finish(run, "succeeded", {}, [])
        snapshot(settings, subs["sub Wacht BV"], "2026-04-21", 6)  # ... a short one commits a higher id first
        _prepare_now(settings)  # the figures, worked out without the long sync's snapshot
    # the long sync has committed now
    with UnitOfWork(engine) as uow:
        batch = uow.batches.for_month(tenant_id, "2026-04")
        assert prepared._fresh(uow, batch, VENDOR_COUNTS, prepared._vendor_count_inputs(uow, batch)) is None
