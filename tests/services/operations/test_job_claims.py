"""Two scheduler instances on one PostgreSQL ledger claim a job's fire time at the same moment
(``services.operations.jobs.execute``): one runs it, the other skips it, whatever the interleaving.

PostgreSQL does not serialise write transactions as SQLite's ``BEGIN IMMEDIATE`` does, so a claim's statements can
interleave with the other instance's. Each test stops the second instance just before one of its statements on the
``leases`` table (a driver event, ``before_cursor_execute``), lets the first instance do its part, then lets the
second go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from config import Settings
from services.clock import FixedClock
from services.operations import execute, initialise, recent_runs
from services.operations.jobs import LEASE_TTL, fire_time_for, job_specs
from services.runners import running
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.interleave import b_paused_for_a

pytestmark = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)

JOB = "build:nl-bv"
LEASE = f"job:{JOB}"
CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, 0, 5, tzinfo=ZoneInfo("Europe/Amsterdam")))


def second_instance_paused(settings: Settings, words: tuple[str, ...], meanwhile: Callable[[], None]) -> str:
    """Run the fire time as instance B, paused before its first statement with all of ``words`` while
    ``meanwhile`` (instance A's part) runs (``tests.interleave``). Returns B's outcome."""
    return b_paused_for_a(engine_for(settings), words, lambda _: execute(settings, JOB, CLOCK, runner="host-b:2"),
                          meanwhile)


def test_a_run_finished_while_another_instance_claims_it_is_not_run_again(settings: Settings) -> None:
    """Instance A runs the fire time; B starts claiming it, and A finishes and frees its lease before B reads the
    lease. Read in the former order (finished runs, then the lease), B saw A's run unfinished and its lease free."""
    initialise(settings)
    engine = engine_for(settings)
    now = CLOCK.now()
    scheduled_for = fire_time_for(settings, next(spec for spec in job_specs(settings) if spec.id == JOB), now)
    with running() as runner_a:
        with UnitOfWork(engine, write=True) as uow:  # A's claim, as execute writes it
            assert uow.leases.acquire(LEASE, runner_a, now, LEASE_TTL)
            run_id = uow.job_runs.start(JOB, scheduled_for, runner_a, now).id

        def a_finishes() -> None:
            with UnitOfWork(engine, write=True) as uow:
                uow.job_runs.finish(run_id, "succeeded", now, counts={})
                uow.leases.release(LEASE, runner_a)

        outcome = second_instance_paused(settings, ("leases", "FOR UPDATE"), a_finishes)
    assert outcome == "skipped"
    runs = recent_runs(settings, 10, JOB)
    assert [run.outcome for run in runs] == ["skipped", "succeeded"]
    assert "already completed" in (runs[0].error or "")


def test_two_instances_taking_a_new_lease_at_once_run_the_fire_time_once(settings: Settings) -> None:
    """No lease row yet: both instances find none, A inserts it first; B's insert of the same lease is refused, and
    B skips the fire time instead of failing with the database's error."""
    initialise(settings)
    engine = engine_for(settings)
    now = CLOCK.now()

    def a_takes_the_lease() -> None:
        with UnitOfWork(engine, write=True) as uow:
            assert uow.leases.acquire(LEASE, "host-a:1", now, LEASE_TTL)

    assert second_instance_paused(settings, ("INSERT INTO leases",), a_takes_the_lease) == "skipped"
    runs = recent_runs(settings, 10, JOB)
    assert [run.outcome for run in runs] == ["skipped"]
    assert "lease held by host-a:1" in (runs[0].error or "")
