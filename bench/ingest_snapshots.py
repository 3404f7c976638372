"""Benchmark: a million licence records through the nightly sync's mapping into the ledger.

Runs ``services.sync.store_pull`` (the same code the nightly sync runs: customer matching, subscription upserts,
snapshots on state change) on records built in memory, no HTTP: 1,000,000 subscription records split over ten
sources (one unit of work per source, as the sync does), then a second night with 2 % of the quantities changed.
Once on SQLite, once on a throwaway PostgreSQL cluster (``tests.postgres``). Prints BENCH lines and records/s (also
per CPU second of this process: on a shared machine the wall clock mostly measures the neighbours); never asserts.

    python -m bench.ingest_snapshots              # full scale
    BENCH_SCALE=0.01 python -m bench.ingest_snapshots
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bench.common import measure, scaled
from config.loader import parse_settings
from connectors.records import LicenceRecord, PullResult
from ledger import checkpoints
from services.operations import initialise
from services.runtime import dispose_engines, engine_for
from services.sync import IngestContext, SourcePull, store_pull
from services.uow import UnitOfWork
from tests.postgres import find_bindir, running_cluster

ROOT = Path(__file__).resolve().parent.parent
RECORDS = 1_000_000
SOURCES = 10
SEATS_PER_CUSTOMER = 20  # subscriptions per customer
NIGHT = dt.datetime(2026, 5, 1, 0, 30, tzinfo=dt.UTC)
QUANTITIES = [Decimal(n) for n in range(1, 301)]
COST = Decimal("28.10")


def records(source: int, count: int, night: dt.datetime, changed_every: int = 0) -> tuple[LicenceRecord, ...]:
    """``count`` licence records of one source; every ``changed_every``-th one shows one seat more."""
    out = []
    for i in range(count):
        sub = f"b{source}-{i}"
        customer = f"b{source}-c{i // SEATS_PER_CUSTOMER}"
        quantity = QUANTITIES[i % 250 + (1 if changed_every and i % changed_every == 0 else 0)]
        out.append(LicenceRecord(
            source="pax8", source_account_id="bench", customer_external_id=customer,
            customer_name=f"Customer {customer}", customer_reference=f"ERP-{customer}",
            subscription_external_id=sub, line_external_id=sub, product_id="P-E3", product_name="Example 365 E3",
            quantity=quantity, currency="EUR", billing_frequency="P1M", billing_type="license", status="active",
            status_raw="Active", as_of=night, commitment_term="P1Y", term_start=dt.date(2026, 3, 10),
            term_end=dt.date(2027, 3, 9), auto_renew=True, unit_cost=COST, raw={"id": sub, "quantity": quantity},
        ))
    return tuple(out)


def run(database: str, url: str, tmp: Path) -> None:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database"] = {"url": url, "url_env": None}
    settings = parse_settings(data, tmp / "config.yaml")
    initialise(settings)
    engine = engine_for(settings)
    with UnitOfWork(engine) as uow:
        tenant_id = uow.tenants.by_code("de-gmbh").id
    per_source = max(1, scaled(RECORDS) // SOURCES)
    total = per_source * SOURCES
    for night, label, changed_every in ((NIGHT, "", 0), (NIGHT + dt.timedelta(days=1), "_next_night", 50)):
        pulls = [records(source, per_source, night, changed_every) for source in range(SOURCES)]
        stored = 0
        wall, cpu = time.perf_counter(), time.process_time()
        with measure(f"ingest_snapshots_{database}{label}", total, sources=SOURCES):
            for source, licences in enumerate(pulls):
                context = IngestContext(f"bench-{source}", tenant_id, ZoneInfo("Europe/Berlin"), night, None)
                with UnitOfWork(engine, write=True) as uow:
                    counts, _ = store_pull(uow, context, SourcePull(PullResult(licences=licences)))
                stored += counts.get("snapshots_stored", 0)
            checkpoints.wait(engine)  # as the sync run ends: the night's writes are in the database file
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {database}{label}: {stored} snapshots stored for {total} records, {total / wall:,.0f} records/s "
              f"({total / cpu:,.0f} per CPU second of this process)", flush=True)
        del pulls
    dispose_engines()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
    bindir = find_bindir()
    if bindir is None:
        print("BENCH name=ingest_snapshots_postgres skipped: PostgreSQL binaries (initdb, pg_ctl) not found")
        return
    with running_cluster(bindir) as cluster, cluster.database() as url, tempfile.TemporaryDirectory() as tmp:
        run("postgres", url, Path(tmp))


if __name__ == "__main__":
    main()
