"""A build partitioned by customer on a real Dask cluster (a ``LocalCluster`` of two worker processes reading the
ledger themselves) writes exactly the draft the in-process build writes: lines, amounts, lineage, totals and the
records it could not bill; including corrections of an exported month, usage and one-time purchases, and records
that name no customer (the first partition reports them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from config import Settings
from ledger.models import Batch
from ledger.shards import Shard
from services.batches import build_batch
from services.batches.build import BuildReport
from services.batches.desired import Scope, rate_shard
from services.clock import FixedClock
from services.errors import BadSetting
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.identity import actor
from tests.services.batches.test_batch_support import (
    add_customer,
    add_subscription,
    mark_exported,
    mutation,
    snapshot,
    usage,
)
from tests.services.batches.test_bulk_build import stored
from tests.services.batches.test_one_time import Line, add_line

pytestmark = sqlite_only  # the workers open the test's ledger file; PostgreSQL reads are covered by the services
JUNE = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
JULY = FixedClock(dt.datetime(2026, 7, 2, 7, tzinfo=dt.UTC))
MONTH_ENDS = ["2025-05-31", "2025-08-29", "2025-10-30", "2026-01-31"]  # anchors near the end of a month
PLANS = [("P1M", "P1M"), ("P1Y", "P1M"), ("P1Y", "P1Y"), ("P3Y", "P1M")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local.scheduler_address


def seed(settings: Settings) -> None:
    """Eight customers, each with licences on different plans (seat changes with and without a ticket, a cancel),
    Azure usage and a one-time purchase; plus a usage row naming no customer."""
    initialise(settings)
    for number in range(8):
        customer = add_customer(settings, "nl-bv", f"Customer {number}")
        for index, (term, billing) in enumerate(PLANS[: 1 + number % len(PLANS)]):
            start = MONTH_ENDS[number % len(MONTH_ENDS)] if index % 2 else "2026-03-10"
            sub = add_subscription(settings, "nl-bv", customer, f"sub-{number}-{index}", start, term=term,
                                   billing=billing)
            snapshot(settings, sub, start, 5 + number)
            snapshot(settings, sub, "2026-05-12", 8 + number + index)
            if index == 1:
                mutation(settings, "nl-bv", customer, sub, "increase", "2026-05-10", 8 + number + index)
            if number == 3 and index == 0:
                snapshot(settings, sub, "2026-05-20", 8 + number, status="cancelled")
        usage(settings, "nl-bv", customer, None, "2026-04-15", f"{12 + number}.3456", row_key=f"{number}/april")
        usage(settings, "nl-bv", customer, None, "2026-05-15", f"{20 + number}.25", meter="m-2",
              row_key=f"{number}/may")
        add_line(settings, customer, Line(f"ot-{number}", "new", "2026-05-06", "2", "100.00", "200.00"))
    usage(settings, "nl-bv", None, None, "2026-04-20", "3.00", row_key="nobody")  # type: ignore[arg-type]


def late_changes(settings: Settings) -> None:
    """Changes seen after May was exported: May's lines are corrected in June."""
    with UnitOfWork(engine_for(settings)) as uow:
        subs = list(uow.batches.subscriptions(uow.tenants.by_code("nl-bv").id))
    for sub in subs[::3]:
        snapshot(settings, sub.id, "2026-06-03", 3)
        mutation(settings, "nl-bv", sub.customer_id, sub.id, "decrease", "2026-05-25", 3)


def same_draft(first: BuildReport, second: BuildReport) -> None:
    assert (second.added, second.changed, second.removed) == (0, 0, 0), second
    assert (second.invoices, second.lines, second.totals) == (first.invoices, first.lines, first.totals)
    assert sorted(second.problems) == sorted(first.problems)


def with_compute(settings: Settings, **compute: object) -> Settings:
    return settings.model_copy(update={"compute": settings.compute.model_copy(update=compute)})


def two_months_alike(settings: Settings, partitioned: Settings) -> None:
    """May built partitioned and rebuilt in one piece, then (May exported, late changes seen) June built in one piece
    and rebuilt partitioned: each rebuild changes nothing, and the stored lines stay the same."""
    seed(settings)
    finn = actor(settings, "finn")
    in_parts = build_batch(partitioned, "nl-bv", "2026-05", finn, JUNE)
    lines = stored(settings)
    assert in_parts.lines == len(lines) > 40 and in_parts.created
    assert sum("no customer" in problem for problem in in_parts.problems) == 1  # the orphan row, reported once
    whole = build_batch(settings, "nl-bv", "2026-05", finn, JUNE)
    same_draft(in_parts, whole)
    assert stored(settings) == lines

    mark_exported(settings, "nl-bv", "2026-05")
    late_changes(settings)
    whole = build_batch(settings, "nl-bv", "2026-06", finn, JULY)
    lines = stored(settings)
    assert any(key.endswith("/v2") for key in lines)  # corrections of the exported month
    in_parts = build_batch(partitioned, "nl-bv", "2026-06", finn, JULY)
    same_draft(whole, in_parts)
    assert stored(settings) == lines


def test_a_partitioned_build_writes_the_in_process_draft(settings: Settings, cluster: str) -> None:
    two_months_alike(settings, with_compute(settings, dask_scheduler=cluster))


def test_the_cli_and_config_send_the_build_to_the_cluster(settings: Settings, config_file: Path,  # noqa: F811
                                                          cluster: str) -> None:
    seed(settings)
    built = cspbill(config_file, "batch", "build", "--tenant", "nl-bv", "--month", "2026-05", "--as", "finn",
                    "--dask", cluster, "--json")
    assert '"created": true' in built.stdout
    lines = stored(settings)
    configured = with_compute(settings, dask_scheduler=cluster, partitions=7)
    again = build_batch(configured, "nl-bv", "2026-05", actor(settings, "finn"), JUNE)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    assert stored(settings) == lines


def test_an_unreachable_scheduler_fails_the_build_and_writes_nothing(settings: Settings) -> None:
    seed(settings)
    impatient = with_compute(settings, connect_timeout_seconds=1)
    with pytest.raises(BadSetting, match=r"compute.dask_scheduler 'tcp://127.0.0.1:9': cannot reach"):
        build_batch(impatient, "nl-bv", "2026-05", actor(settings, "finn"), JUNE, dask="tcp://127.0.0.1:9")
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.query(Batch).count() == 0


def test_a_worker_on_another_ledger_refuses_to_rate(settings: Settings) -> None:
    """A worker resolves the ledger URL in its own environment; reaching another ledger (one without the builder's
    tenant id) fails the partition, naming the setting, instead of rating nothing."""
    seed(settings)
    elsewhere = Scope("nl-bv", 999, dt.date(2026, 5, 1), dt.date(2026, 5, 31), dt.date(2026, 5, 1), "2026-05",
                      "2026-05", "2026-05", frozenset())
    with pytest.raises(BadSetting, match=r"database.url_env: the Dask worker's ledger does not hold tenant 'nl-bv'"):
        rate_shard(settings, elsewhere, Shard())
