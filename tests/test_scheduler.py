"""The scheduler, with time moved by time-machine (APScheduler reads the wall clock itself).

Fires the nightly sync and the monthly build at the configured times, never twice for one fire time even with two
scheduler instances on one database, and after downtime catches up once within the misfire grace (coalescing) or
records the run as missed beyond it.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
import yaml

import scheduler
from config import load_config
from services.clock import FixedClock
from services.operations import execute, initialise, recent_runs
from services.runtime import engine_for
from tests.conftest import demo_config_data

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> str:
    data = demo_config_data()
    data["database"] = {"url": db_url, "url_env": None}
    data["sources"] = [dict(data["sources"][2], client_id_env="CSPBILL_TEST_UNSET_ID",
                            client_secret_env="CSPBILL_TEST_UNSET_SECRET")]  # pax8 only, credentials unset
    data.pop("fx", None)  # no exchange-rate job: the jobs here are one source's sync and the builds
    data.pop("vies", None)  # no VAT-id check job either
    data["schedule"] = {"nightly_sync": "30 2 * * *", "monthly_build": "0 7 2 * *", "export_retry": "0 12 * * 0",
                        "timezone": "Europe/Amsterdam", "misfire_grace_seconds": 3600}
    for tenant in data["tenants"]:
        tenant["erp"] = {"kind": "none"}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    initialise(load_config(path))
    return str(path)


def _wait_for(config_file: str, count: int, job_id: str | None = None) -> list:
    """Finished runs (of ``job_id`` if given), once there are ``count`` of them."""
    settings = load_config(config_file)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [r for r in recent_runs(settings, 100) if r.outcome != "running"]
        if len([r for r in runs if job_id in (None, r.job_id)]) >= count:
            return sorted(runs, key=lambda r: (r.scheduled_for, r.job_id))
        time.sleep(0.1)
    raise AssertionError(f"expected {count} finished job runs, have {len(runs)}")


def _tick(traveller: time_machine.Coordinates, when: dt.datetime, *schedulers) -> None:
    traveller.move_to(when)
    for running in schedulers:
        running.wakeup()


@pytest.mark.slow
def test_fires_at_configured_times_once_with_two_instances(config_file: str) -> None:
    settings = load_config(config_file)
    with time_machine.travel(dt.datetime(2026, 6, 1, 23, 0, tzinfo=AMS), tick=True) as traveller:
        first = scheduler.start(config_file, settings)
        second = scheduler.start(config_file, settings)
        try:
            _tick(traveller, dt.datetime(2026, 6, 2, 2, 30, 1, tzinfo=AMS), first, second)
            sync_runs = _wait_for(config_file, 1)
            _tick(traveller, dt.datetime(2026, 6, 2, 7, 0, 1, tzinfo=AMS), first, second)
            runs = _wait_for(config_file, 2)
            time.sleep(1)  # give a duplicate the chance to show up
            runs = [r for r in recent_runs(settings, 100) if r.outcome != "skipped"]
        finally:
            first.shutdown(wait=True)
            second.shutdown(wait=True)
    assert sync_runs[0].job_id == "sync:pax8"
    by_job = {r.job_id: r for r in runs}
    assert sorted(by_job) == ["build:de-gmbh", "build:nl-bv", "sync:pax8"]
    assert by_job["sync:pax8"].scheduled_for == dt.datetime(2026, 6, 2, 0, 30, tzinfo=dt.UTC)
    assert by_job["sync:pax8"].outcome == "failed" and "CSPBILL_TEST_UNSET" in by_job["sync:pax8"].error
    assert by_job["build:nl-bv"].scheduled_for == dt.datetime(2026, 6, 2, 5, 0, tzinfo=dt.UTC)
    assert by_job["build:nl-bv"].outcome == "succeeded" and by_job["build:nl-bv"].counts["month"] == "2026-05"
    assert len(runs) == len(by_job), "a fire time ran twice"


@pytest.mark.slow
def test_catch_up_after_downtime_within_grace_runs_once(config_file: str) -> None:
    settings = load_config(config_file)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=AMS), tick=True) as traveller:
        scheduler.start(config_file, settings).shutdown(wait=True)  # registered, then "down" over two nights
        traveller.move_to(dt.datetime(2026, 6, 3, 3, 0, tzinfo=AMS))  # 30 min after the second night's fire time
        running = scheduler.start(config_file, settings)
        try:
            runs = _wait_for(config_file, 1, "sync:pax8")
        finally:
            running.shutdown(wait=True)
    syncs = [r for r in runs if r.job_id == "sync:pax8"]
    assert [r.scheduled_for for r in syncs] == [dt.datetime(2026, 6, 3, 0, 30, tzinfo=dt.UTC)]  # one, coalesced
    builds = {(r.job_id, r.outcome) for r in runs if r.job_id.startswith("build:")}
    assert builds == {("build:nl-bv", "missed"), ("build:de-gmbh", "missed")}  # 20 h late: beyond the grace


@pytest.mark.slow
def test_downtime_beyond_grace_records_a_missed_run(config_file: str) -> None:
    settings = load_config(config_file)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=AMS), tick=True) as traveller:
        scheduler.start(config_file, settings).shutdown(wait=True)
        traveller.move_to(dt.datetime(2026, 6, 2, 9, 0, tzinfo=AMS))  # 6.5 h after 02:30, grace is 1 h
        running = scheduler.start(config_file, settings)
        try:
            runs = _wait_for(config_file, 1, "sync:pax8")
        finally:
            running.shutdown(wait=True)
    assert [(r.job_id, r.outcome, r.scheduled_for) for r in runs if r.job_id == "sync:pax8"] == [
        ("sync:pax8", "missed", dt.datetime(2026, 6, 2, 0, 30, tzinfo=dt.UTC))
    ]


def test_a_fire_time_completed_by_one_instance_is_skipped_by_another(config_file: str) -> None:
    settings = load_config(config_file)
    clock = FixedClock(dt.datetime(2026, 6, 2, 7, 0, 5, tzinfo=AMS))
    assert execute(settings, "build:nl-bv", clock, runner="host-a:1") == "succeeded"
    assert execute(settings, "build:nl-bv", clock, runner="host-b:2") == "skipped"
    runs = recent_runs(settings, 10, "build:nl-bv")
    assert [r.outcome for r in runs] == ["skipped", "succeeded"]
    assert "already completed" in runs[0].error


def test_job_store_uses_the_ledger_engine_and_leaves_it_open(config_file: str) -> None:
    """The job store writes through the ledger's engine (its busy timeout and checkpoints), and stopping the
    scheduler does not close the pool the web desk and the jobs share."""
    settings = load_config(config_file)
    engine = engine_for(settings)
    running = scheduler.build_scheduler(config_file, settings)
    stored = running._lookup_jobstore("default")
    assert stored.engine is engine
    running.get_jobs()  # a read through the pool: its connection goes back to it
    pooled = engine.pool.checkedin()
    running.shutdown(wait=True)
    assert pooled and engine.pool.checkedin() == pooled
