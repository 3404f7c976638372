"""A build whose ranges are rated by worker processes of this machine (``compute.processes``,
``services.batches.processes``) writes the draft a build in one process writes, logs its workers' warnings where the
building process logs, and fails without writing anything when a worker dies."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml
from sqlalchemy import func, select

from config import Settings
from ledger.models import Batch
from services.batches import build_batch
from services.batches.build import BuildReport
from services.errors import Interrupted
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.batches.test_bulk_build import stored
from tests.services.batches.test_partitioned_build import JUNE, seed, two_months_alike, with_compute


def test_ranges_rated_by_worker_processes_write_the_in_process_draft(settings: Settings,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """May built by two worker processes in ranges of three customers equals May built in one piece; June (May
    exported, late changes seen) built in one piece equals June built by the workers."""
    with caplog.at_level(logging.INFO, logger="services.batches.processes"):
        two_months_alike(settings, with_compute(settings, partition_customers=3, processes=2))
    assert caplog.messages.count("batch build tenant=nl-bv: 3 ranges rated by 2 worker processes") == 2


def test_a_workers_warning_is_logged_by_the_building_process(settings: Settings, config_file: Path) -> None:  # noqa: F811
    """The console script's build with ``compute.processes: 2`` in config.yaml: a licence a worker cannot bill (a
    vendor count of 2.5 seats) is in the report's problems and its warning is on the command's stderr, logged by
    the worker through the building process's handler."""
    seed(settings)
    customer = add_customer(settings, "nl-bv", "Half seats")
    sub = add_subscription(settings, "nl-bv", customer, "half-seats", "2026-03-10")
    snapshot(settings, sub, "2026-03-10", 2.5)  # type: ignore[arg-type]  # the vendor's count, as it came
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    data["compute"] = {"partition_customers": 3, "processes": 2}
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    built = cspbill(config_file, "--verbose", "batch", "build", "--tenant", "nl-bv", "--month", "2026-05",
                    "--as", "finn", "--json", process=True)
    assert "quantity: 2.5 is not a whole number of seats" in built.stdout  # the report's problems
    assert "INFO services.batches.processes batch build tenant=nl-bv: 3 ranges rated by 2 worker processes" in (
        built.stderr)
    warnings = [line for line in built.stderr.splitlines() if "WARNING services.batches.desired" in line]
    assert len(warnings) == 1 and f"subscription={sub}" in warnings[0] and "2.5 is not a whole number" in warnings[0]


def test_a_worker_that_dies_fails_the_build_and_writes_nothing(settings: Settings) -> None:
    """A worker process killed while the build runs (as the kernel's out-of-memory killer would): the build fails with
    a sentence naming the setting and the range, and the ledger holds no batch and no line of it."""
    seed(settings)
    workers = with_compute(settings, partition_customers=1, processes=2)
    outcome: list[BuildReport | BaseException] = []

    def build() -> None:
        try:
            outcome.append(build_batch(workers, "nl-bv", "2026-05", actor(settings, "finn"), JUNE))
        except BaseException as exc:
            outcome.append(exc)

    builder = threading.Thread(target=build)
    builder.start()
    _kill_a_worker(builder)
    builder.join(120)
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome
    assert "compute.processes: a worker process stopped" in str(outcome[0])
    assert "nothing of the build was written, run it again" in str(outcome[0])
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Batch)) == 0
    assert stored(settings) == {}


def _kill_a_worker(builder: threading.Thread) -> None:
    """SIGKILL the first worker process of this process's build as soon as it runs: a spawned worker imports
    cspbill for about a second before it can rate, so no range is back by then."""
    deadline = time.monotonic() + 60
    while builder.is_alive() and time.monotonic() < deadline:
        for child in psutil.Process().children():
            if "spawn_main" in " ".join(child.cmdline()):
                child.send_signal(signal.SIGKILL)
                return
        time.sleep(0.01)
    pytest.fail("no worker process was started")
