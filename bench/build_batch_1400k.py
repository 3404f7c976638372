"""Benchmark: the month-end build of one legal entity with 1.4 M licences through the service the CLI runs.

1,400,000 subscriptions on 350,000 customers: terms P1M, P1Y and P3Y billed monthly or annually, starts spread over
three years with a quarter anchored on a 29th-31st (clipped in shorter months), and 100,000 seat changes seen in
the month (half confirmed by a desk mutation dated a few days earlier). Prints the first build (``engine=bulk``)
and an unchanged rebuild (same work but writing; ``BENCH_SCALAR=1`` adds one with the reference engine). Goal:
≤ 60 s and ≤ 4 GB on SQLite. The same first build with ``compute.processes: 2`` (a Dask ``LocalCluster`` of two
worker processes started by the build) on a copy of the seeded ledger: ``build_batch_1400k_processes``, with the
CPU seconds of the building process and of its workers. Then the same rebuild partitioned on a Dask ``LocalCluster``
of two single-threaded worker processes (``build_batch_1400k_dask`` with its speed-up over the in-process rebuild;
``peak_mb`` is the building process's, each worker has its own). Last, ``cspbill reconcile``'s service on the same month
(``reconcile_1400k``). All of it on SQLite, then on a throwaway PostgreSQL cluster.
``BENCH_SCALE=0.05`` runs 5 %. Prints, never asserts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import resource
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from distributed import LocalCluster
from sqlalchemy import insert, make_url, select

from bench.build_batch import CLOCK, MONTH, _chunks
from bench.common import demo_ledger, in_scratch_folder, measure, scaled
from config import Settings
from ledger.models import Customer, Mutation, Snapshot, Subscription, Tenant
from services.batches import build_batch
from services.batches.build import BuildReport
from services.desk import reconcile
from services.operations import initialise
from services.runtime import dispose_engines, engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.postgres import PostgresCluster, find_bindir, running_cluster

# the reference engine's rebuild costs minutes more at full scale: BENCH_SCALAR=1 adds it
ENGINES = ("bulk", "scalar") if os.environ.get("BENCH_SCALAR") == "1" else ("bulk",)
PLANS = (("P1M", "P1M"), ("P1Y", "P1M"), ("P1Y", "P1Y"), ("P3Y", "P1M"), ("P3Y", "P1Y"))
PRODUCT = "CFQ7TTC0LH18:0001"


def _start(n: int) -> dt.date:
    day = dt.date(2023, 6, 1) + dt.timedelta(days=(n * 7919) % 1060)
    if n % 4 == 0:  # anchored on a 29th-31st, clipped to the month's last day
        wanted = 29 + n % 3
        following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        day = day.replace(day=min(wanted, (following - dt.timedelta(days=1)).day))
    return day


def seed(settings: Settings, subscriptions: int, changes: int) -> None:
    """``subscriptions`` licences on a quarter as many customers; every ``n``-th gets a seat change in the month."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        for chunk in _chunks([{"tenant_id": tenant_id, "name": f"Customer {n:07d}", "country": "NL",
                               "is_business": True} for n in range(max(1, subscriptions // 4))]):
            session.execute(insert(Customer), chunk)
        customers = list(session.scalars(select(Customer.id).where(Customer.tenant_id == tenant_id)))
        subs = []
        for n in range(subscriptions):
            term, billing = PLANS[n % len(PLANS)]
            start = _start(n)
            subs.append({"tenant_id": tenant_id, "customer_id": customers[n % len(customers)],
                         "source": "partner-center", "external_id": f"sub-{n:07d}", "product_id": PRODUCT,
                         "sku": "0001", "product_name": "Microsoft 365 E3", "term": term, "billing": billing,
                         "start_date": start, "anchor_date": start, "status": "active", "currency": "EUR",
                         "billing_type": "license"})
        for chunk in _chunks(subs):
            session.execute(insert(Subscription), chunk)
        rows = session.execute(select(Subscription.id, Subscription.customer_id, Subscription.start_date)
                               .where(Subscription.tenant_id == tenant_id).order_by(Subscription.id)).all()
        every = max(1, subscriptions // max(1, changes))
        snaps, mutations = [], []
        digest = hashlib.sha256(b"bench").hexdigest()
        first_day = dt.date.fromisoformat(f"{MONTH}-01")
        for n, (sub_id, customer_id, start) in enumerate(rows):
            seen = [(start, 5 + n % 20)]
            if n % every == 0:
                day = first_day + dt.timedelta(days=(n // every) % 28 + 1)
                seen.append((day, 6 + (n + 3) % 20))
                if n % (2 * every) == 0:
                    mutations.append({"tenant_id": tenant_id, "customer_id": customer_id, "subscription_id": sub_id,
                                      "kind": "increase" if seen[1][1] > seen[0][1] else "decrease",
                                      "effective_date": day - dt.timedelta(days=2),
                                      "new_quantity": Decimal(seen[1][1]), "ticket_ref": f"T-{n}",
                                      "status": "provisioned", "created_by": "dana"})
            for day, quantity in seen:
                snaps.append({"subscription_id": sub_id, "observed_at": dt.datetime.combine(day, dt.time(2), dt.UTC),
                              "observed_on": day, "quantity": Decimal(quantity), "status": "active",
                              "product_id": PRODUCT, "unit_cost": Decimal("30.00"), "currency": "EUR", "raw": {},
                              "raw_hash": digest})
        for chunk in _chunks(snaps):
            session.execute(insert(Snapshot), chunk)
        for chunk in _chunks(mutations):
            session.execute(insert(Mutation), chunk)


def run(folder: Path, database: str = "sqlite", url: str | None = None,
        cluster: PostgresCluster | None = None) -> None:
    count = scaled(1_400_000)
    settings = demo_ledger(folder, url)
    initialise(settings)
    with measure("seed_ledger_1400k", count):
        seed(settings, count, scaled(100_000))
    finn = actor(settings, "finn")
    with seeded_copy(settings, folder, cluster) as copy:
        cpu = time.process_time()
        with measure("build_batch_1400k", count, database=database, engine="bulk"):
            report = build_batch(settings, "nl-bv", MONTH, finn, CLOCK)
        print(f"invoices={report.invoices} lines={report.lines} net={report.totals['EUR']['net']} "
              f"problems={len(report.problems)} cpu_seconds={time.process_time() - cpu:.2f} "
              f"load_average={os.getloadavg()[0]:.1f}", flush=True)
        first_build_in_processes(copy, count, database, report)
    seconds = {}
    for engine in ENGINES:
        cpu, start = time.process_time(), time.perf_counter()
        with measure("rebuild_batch_1400k_unchanged", count, database=database, engine=engine):
            again = build_batch(settings, "nl-bv", MONTH, finn, CLOCK, engine=engine)
        seconds[engine] = time.perf_counter() - start
        print(f"rebuild engine={engine} added={again.added} changed={again.changed} removed={again.removed} "
              f"cpu_seconds={time.process_time() - cpu:.2f}", flush=True)
    # a worker whose heartbeat meets the closing scheduler logs it as an error with a traceback: harmless once the
    # build has returned (a failed task raises in build_batch), so the cluster's own log stops short of errors
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        start = time.perf_counter()
        with measure("build_batch_1400k_dask", count, database=database, workers=2):
            again = build_batch(settings, "nl-bv", MONTH, finn, CLOCK, dask=cluster.scheduler_address)
        speedup = seconds["bulk"] / (time.perf_counter() - start)
    print(f"dask rebuild added={again.added} changed={again.changed} removed={again.removed} "
          f"speedup_over_one_process={speedup:.2f} load_average={os.getloadavg()[0]:.1f}", flush=True)
    with measure("reconcile_1400k", count, database=database):
        found = reconcile(settings, finn, CLOCK, month=MONTH, tenant="nl-bv")
    print(f"reconcile subscriptions={found.checked} with_findings={len(found.subscriptions)} raised={found.raised} "
          f"open={found.open_count}", flush=True)


@contextmanager
def seeded_copy(settings: Settings, folder: Path, cluster: PostgresCluster | None) -> Iterator[Settings]:
    """A copy of the seeded ledger (a file copy, or a PostgreSQL database made from it as a template), so that a
    second first build can be measured."""
    dispose_engines()  # SQLite: the copy holds every page; PostgreSQL: a template has no open connection
    if cluster is None:
        (folder / "copy").mkdir()
        shutil.copyfile(folder / "ledger.db", folder / "copy" / "ledger.db")
        yield demo_ledger(folder / "copy")
        return
    with cluster.database(template=make_url(settings.database_url()).database) as url:
        yield demo_ledger(folder, url)


def first_build_in_processes(settings: Settings, count: int, database: str, in_process: BuildReport) -> None:
    """The same first build with ``compute.processes: 2`` (a Dask ``LocalCluster`` of two worker processes)."""
    workers = settings.model_copy(update={"compute": settings.compute.model_copy(update={"processes": 2})})
    cpu, children = time.process_time(), _children_cpu()
    with measure("build_batch_1400k_processes", count, database=database, processes=2):
        report = build_batch(workers, "nl-bv", MONTH, actor(settings, "finn"), CLOCK)
    same = (report.invoices, report.lines, report.totals) == (in_process.invoices, in_process.lines,
                                                              in_process.totals)
    print(f"processes first build invoices={report.invoices} lines={report.lines} same_as_one_process={same} "
          f"cpu_seconds={time.process_time() - cpu:.2f} worker_cpu_seconds={_children_cpu() - children:.2f}",
          flush=True)


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the cluster's workers, once it is closed). Not their peak
    memory: a child's accounted peak starts from this process's size when it was forked, before it ran Python."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    """Run on SQLite in a temporary folder that is removed afterwards, then on a throwaway PostgreSQL cluster."""
    in_scratch_folder(run)
    bindir = find_bindir()
    if bindir is None:
        print("BENCH name=build_batch_1400k database=postgresql skipped: PostgreSQL binaries (initdb, pg_ctl) not "
              "found")
        return
    with running_cluster(bindir) as cluster, cluster.database() as url:
        in_scratch_folder(lambda folder: run(folder, "postgresql", url, cluster))


if __name__ == "__main__":
    main()
