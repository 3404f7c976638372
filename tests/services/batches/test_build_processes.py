"""A build whose partitions are rated by worker processes of this machine (``compute.processes``: a Dask
``LocalCluster`` started for the build) writes the draft a build in one process writes, logs its workers' warnings
where the building process logs, and still writes it when a worker dies."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from config import Settings
from services.batches import build_batch
from services.batches.build import BuildReport
from services.runtime import engine_for
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.batches.test_bulk_build import stored
from tests.services.batches.test_partitioned_build import JUNE, same_draft, seed, two_months_alike, with_compute


def test_ranges_rated_by_worker_processes_write_the_in_process_draft(settings: Settings,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """May built by two worker processes in ranges of three customers equals May built in one piece; June (May
    exported, late changes seen) built in one piece equals June built by the workers."""
    with caplog.at_level(logging.INFO, logger="services.batches.partitions"):
        two_months_alike(settings, with_compute(settings, partition_customers=3, processes=2))
    started = [message for message in caplog.messages if message.startswith("batch build tenant=nl-bv: 8 partitions")]
    assert len(started) == 2 and all(message.endswith("(2 worker threads)") for message in started)


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
    assert "INFO services.batches.partitions batch build tenant=nl-bv: 9 partitions on tcp://127.0.0.1:" in (
        built.stderr)
    warnings = [line for line in built.stderr.splitlines() if "WARNING services.batches.desired" in line]
    assert len(warnings) == 1 and f"subscription={sub}" in warnings[0] and "2.5 is not a whole number" in warnings[0]


@sqlite_only  # the test finds the worker by the ledger file it opened
def test_a_worker_that_dies_is_replaced_and_the_build_writes_the_whole_draft(settings: Settings) -> None:
    """A worker process killed while it rates (it has the ledger open), as the kernel's out-of-memory killer would:
    Dask starts another and rates its partition again, and the draft equals the one built in one process."""
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
    _kill_a_worker(builder, Path(str(engine_for(settings).url.database)))
    builder.join(120)
    assert len(outcome) == 1 and isinstance(outcome[0], BuildReport), outcome
    lines = stored(settings)
    assert outcome[0].lines == len(lines) > 40
    same_draft(outcome[0], build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), JUNE))
    assert stored(settings) == lines


def _kill_a_worker(builder: threading.Thread, ledger: Path) -> None:
    """SIGKILL the first worker process of this process's build seen with the ``ledger`` file open."""
    deadline = time.monotonic() + 60
    while builder.is_alive() and time.monotonic() < deadline:
        for child in psutil.Process().children():
            try:
                if any(Path(opened.path) == ledger for opened in child.open_files()):
                    child.send_signal(signal.SIGKILL)
                    return
            except psutil.Error:  # a child that ended meanwhile
                continue
        time.sleep(0.005)
    pytest.fail("no worker process opened the ledger")
