"""Benchmark: build one legal entity's month-end draft batch with the real service (``services.batches.build_batch``).

300,000 customers with one monthly licence each (anchors spread over the month, 10 % with a seat change seen inside
the month) give 300,000 invoices on SQLite. The ledger is seeded with Core inserts in chunks; the build is the same
code the CLI runs. Goal: ≤ 120 s. ``BENCH_SCALE=0.01`` runs 1 %. Prints, never asserts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from bench.common import demo_ledger, in_scratch_folder, measure, scaled
from config import Settings
from ledger.models import Customer, Snapshot, Subscription, Tenant
from services.batches import batch_invoices, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.paging import LAST
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor

MONTH = "2026-05"
CHUNK = 20_000
CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))


def _chunks(rows: list[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def seed(settings: Settings, customers: int) -> None:
    """``customers`` customers, one monthly subscription and one or two snapshots each."""
    engine = engine_for(settings)
    with UnitOfWork(engine, write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        for chunk in _chunks([{"tenant_id": tenant_id, "name": f"Customer {n:07d}", "country": "NL",
                               "is_business": True} for n in range(customers)]):
            session.execute(insert(Customer), chunk)
        ids = list(session.scalars(select(Customer.id).where(Customer.tenant_id == tenant_id).order_by(Customer.id)))
        subs = []
        for n, customer_id in enumerate(ids):
            start = dt.date(2026, 3, 1 + n % 28)
            subs.append({"tenant_id": tenant_id, "customer_id": customer_id, "source": "partner-center",
                         "external_id": f"sub-{n:07d}", "product_id": "CFQ7TTC0LH18:0001", "sku": "0001",
                         "product_name": "Microsoft 365 E3", "term": "P1Y", "billing": "P1M", "start_date": start,
                         "anchor_date": start, "status": "active", "currency": "EUR", "billing_type": "license"})
        for chunk in _chunks(subs):
            session.execute(insert(Subscription), chunk)
        rows = session.execute(select(Subscription.id, Subscription.start_date)
                               .where(Subscription.tenant_id == tenant_id).order_by(Subscription.id)).all()
        snaps = []
        digest = hashlib.sha256(b"bench").hexdigest()
        for n, (sub_id, start) in enumerate(rows):
            seen = [(start, 5 + n % 20)]
            if n % 10 == 0:
                seen.append((dt.date(2026, 5, 1 + (n + 7) % 28), 7 + n % 20))
            for day, quantity in seen:
                snaps.append({"subscription_id": sub_id, "observed_at": dt.datetime.combine(day, dt.time(2), dt.UTC),
                              "observed_on": day, "quantity": Decimal(quantity), "status": "active",
                              "product_id": "CFQ7TTC0LH18:0001", "unit_cost": Decimal("30.00"), "currency": "EUR",
                              "raw": {}, "raw_hash": digest})
        for chunk in _chunks(snaps):
            session.execute(insert(Snapshot), chunk)


def run(folder: Path) -> None:
    count = scaled(300_000)
    settings = demo_ledger(folder)
    initialise(settings)
    with measure("seed_ledger", count):
        seed(settings, count)
    finn = actor(settings, "finn")
    cpu = time.process_time()
    with measure("build_batch", count, database="sqlite"):
        report = build_batch(settings, "nl-bv", MONTH, finn, CLOCK)
    print(f"invoices={report.invoices} lines={report.lines} net={report.totals['EUR']['net']} "
          f"cpu_seconds={time.process_time() - cpu:.2f} load_average={os.getloadavg()[0]:.1f}", flush=True)
    with measure("rebuild_batch_unchanged", count, database="sqlite"):
        again = build_batch(settings, "nl-bv", MONTH, finn, CLOCK)
    print(f"rebuild added={again.added} changed={again.changed} removed={again.removed}", flush=True)
    per_page = 50
    with measure("batch_invoices_last_page", report.invoices, per_page=per_page):
        page = batch_invoices(settings, report.batch_id, finn, before=LAST, per_page=per_page)
    print(f"last page (by key) rows={len(page.items)} of {page.total}", flush=True)


def main() -> None:
    """Run in a temporary folder that is removed afterwards (the 300,000-invoice ledger is about 600 MB)."""
    in_scratch_folder(run)

if __name__ == "__main__":
    main()
