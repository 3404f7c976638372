"""Runs that died are closed (issue 16): a `cspbill sync` killed with SIGKILL while it reads leaves its run
``running``; the next listing (`cspbill sync status`), sync or scheduler start marks it ``abandoned`` with when and
why. A job run whose process is gone is closed the same way and its lease is freed; a live runner is never touched."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from config.loader import load_config
from ledger.models import AuditEvent, JobRun, Lease, SyncRun
from sandbox import pax8
from sandbox.core import Clock, SandboxServer
from services.clock import FixedClock
from services.operations import close_abandoned_runs, execute, initialise, recent_runs
from services.runners import HOST, running
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import people_env

CLI = str(Path(sys.executable).with_name("cspbill"))
NOW = dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def slow_pax8() -> Iterator[SandboxServer]:
    """The Pax8 sandbox, answering the first company page only after a minute (the sync is killed before)."""
    app = pax8.build(Clock(NOW), seed=2)
    app.faults.arm("GET /companies.*", kind="delay", seconds=60.0)
    server = SandboxServer(app, prefix=pax8.PREFIX).start()
    try:
        yield server
    finally:
        app.faults.clear()
        server.stop()


@pytest.fixture
def config_file(tmp_path: Path, slow_pax8: SandboxServer) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    base = f"{slow_pax8.url}{pax8.PREFIX}"
    data["sources"] = [{"name": "pax8", "kind": "pax8", "tenant": "de-gmbh", "base_url": base,
                        "token_url": f"{base}/token", "client_id_env": "T_PAX8_ID", "client_secret_env": "T_PAX8_KEY"}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(CSPBILL_CONFIG=str(config), CSPBILL_NOW=NOW.isoformat(), T_PAX8_ID=pax8.CREDENTIALS["client_id"],
               T_PAX8_KEY=pax8.CREDENTIALS["client_secret"], **people_env(config))
    return subprocess.Popen([CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def sync_runs(settings: Settings) -> list[SyncRun]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(SyncRun).order_by(SyncRun.id)))


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped) on this host."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_sync_killed_mid_read_shows_as_abandoned(config_file: Path, slow_pax8: SandboxServer) -> None:
    assert finished(cli(config_file, "init")).returncode == 0
    settings = load_config(str(config_file))
    process = cli(config_file, "sync")
    deadline = time.monotonic() + 60
    while not any(path.startswith("/companies") for _, path in slow_pax8.app.calls):  # reading, run row committed
        assert process.poll() is None and time.monotonic() < deadline, process.stderr and process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    [run] = sync_runs(settings)
    assert (run.status, run.runner) == ("running", f"{HOST}:{process.pid}:{run.runner.rsplit(':', 1)[1]}")

    status = finished(cli(config_file, "sync", "status", "--json"))
    assert status.returncode == 0, status.stderr
    [shown] = json.loads(status.stdout)["pax8"]
    assert shown["status"] == "abandoned" and shown["finished_at"] is not None
    assert shown["error"] == f"abandoned: process {process.pid} on {HOST} is gone"
    table = finished(cli(config_file, "sync", "status"))
    assert "abandoned" in table.stdout
    with UnitOfWork(engine_for(settings)) as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "sync_run.abandoned")).all()
        assert (event.entity_id, event.detail) == (str(run.id), f"process {process.pid} on {HOST} is gone")


def test_the_next_sync_closes_a_dead_run_and_leaves_a_live_one(settings: Settings) -> None:
    initialise(settings)
    engine = engine_for(settings)
    with running() as live:  # a sync of this process, still reading
        with UnitOfWork(engine, write=True) as uow:
            dead = uow.sync_runs.start("pax8", NOW, runner=f"{HOST}:{dead_pid()}:0badc0ffee00").id
            alive = uow.sync_runs.start("pax8", NOW, runner=live).id
            other_host = uow.sync_runs.start("pax8", NOW, runner="elsewhere:1:abc").id
            # a run on another host is judged by its age: fresh stays, one older than the TTL is closed
            stale = uow.sync_runs.start("pax8", NOW, runner="elsewhere:2:abc")
            stale.started_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=7)
            stale_id = stale.id
        closed = close_abandoned_runs(settings)
    assert sorted(closed["sync_runs"]) == sorted([dead, stale_id])
    by_id = {run.id: run for run in sync_runs(settings)}
    assert by_id[alive].status == by_id[other_host].status == "running"
    assert by_id[stale_id].error == "abandoned: no sign of life from elsewhere:2:abc for more than 6 h"


def test_a_job_run_whose_process_died_is_abandoned_and_its_lease_freed(settings: Settings) -> None:
    initialise(settings)
    clock = FixedClock(dt.datetime(2026, 6, 2, 5, 0, 5, tzinfo=dt.UTC))
    runner = f"{HOST}:{dead_pid()}:feedfacecafe"
    with UnitOfWork(engine_for(settings), write=True) as uow:  # what a killed scheduler leaves behind
        assert uow.leases.acquire("job:build:nl-bv", runner, clock.now(), dt.timedelta(hours=6))
        uow.job_runs.start("build:nl-bv", clock.now(), runner, clock.now())

    [shown] = recent_runs(settings, 5, "build:nl-bv")
    assert (shown.outcome, shown.error) == ("abandoned", f"abandoned: process {runner.split(':')[1]} on {HOST} is "
                                                         "gone")
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.get(Lease, "job:build:nl-bv") is None
    assert execute(settings, "build:nl-bv", clock) == "succeeded"  # not held off for the lease's six hours
    with UnitOfWork(engine_for(settings)) as uow:
        outcomes = [r.outcome for r in uow.session.scalars(select(JobRun).order_by(JobRun.id))]
    assert outcomes == ["abandoned", "succeeded"]
