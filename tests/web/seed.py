"""A month of ledger data for the web desk tests.

Vendor facts (customers, subscriptions, snapshots, sync runs) are written through the repositories, as the nightly
sync would; the batches are built and approved by the real batch services, so invoices, lines and lineage are the
product's own. Discrepancies and job runs are written through the unit of work because their services (reconcile,
scheduler) fill them elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from config import Settings
from ledger.models import Discrepancy, Invoice, JobRun, Snapshot
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import ADDRESS

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
MONTH = "2026-10"


@dataclass(frozen=True)
class Seeded:
    nl_batch: int
    nl_invoice: int
    nl_line: int
    nl_subscription: int
    de_batch: int
    de_invoice: int
    de_subscription: int
    nl_discrepancy: int
    previous_batch: int


def _at(day: dt.date, hour: int = 2) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=dt.UTC)


def _snapshot(uow: UnitOfWork, subscription_id: int, run_id: int | None, day: dt.date, quantity: int,
              unit_cost: str, product: str) -> None:
    raw = {"id": subscription_id, "quantity": quantity, "seen": day.isoformat()}
    uow.snapshots.add(Snapshot(subscription_id=subscription_id, sync_run_id=run_id, observed_at=_at(day),
                               observed_on=day, quantity=Decimal(quantity), status="active", product_id=product,
                               unit_cost=Decimal(unit_cost), currency="EUR", raw=raw, raw_hash=""))


def seed_month(settings: Settings, extra_customers: int = 0) -> Seeded:
    """nl-bv: Contoso (10 seats, 12 from 2026-10-05) and Fabrikam; September built by finn and approved by anna,
    October built by finn (a draft); ``extra_customers`` more nl-bv customers to page through. de-gmbh: Müller with
    October built by greta. Open discrepancies, a succeeded and a failed sync run, a job run."""
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        nl = uow.tenants.by_code("nl-bv")
        de = uow.tenants.by_code("de-gmbh")
        run = uow.sync_runs.start("partner-center", _at(dt.date(2026, 11, 25)), nl.id)
        uow.sync_runs.finish(run, "succeeded", {"subscriptions": 2, "snapshots": 2}, [])
        failed = uow.sync_runs.start("pax8", _at(dt.date(2026, 11, 25)), de.id)
        uow.sync_runs.finish(failed, "failed", {}, [], "pax8: HTTP 503 from /subscriptions after 5 attempts")
        customers = [("e3", "Contoso Zorg B.V.", "C00001", nl, dt.date(2026, 1, 10), 10),
                     ("bp", "Fabrikam Logistiek", "C00002", nl, dt.date(2026, 3, 1), 25),
                     ("de", "Müller Maschinenbau GmbH", "D20001", de, dt.date(2026, 2, 1), 5)]
        customers += [(f"x{n}", f"Paging Customer {n:05d}", f"P{n:05d}", nl, dt.date(2026, 3, 1), 1 + n % 7)
                      for n in range(extra_customers)]
        subs = {}
        for name, customer_name, reference, tenant, start, seats in customers:
            source = "partner-center" if tenant is nl else "pax8"
            customer = uow.customers.add(tenant.id, customer_name, reference=reference, country=tenant.country,
                                         **ADDRESS)
            uow.customers.link(customer, source, f"cust-{name}")
            subs[name] = uow.subscriptions.add(
                tenant_id=tenant.id, customer_id=customer.id, source=source, external_id=f"sub-{name}-0001",
                vendor_subscription_id=f"vs-{name}", product_id=f"CFQ7TTC0LF8Q:{name}", sku="0001",
                product_name="Microsoft 365 Business Premium" if name == "bp" else "Microsoft 365 E3",
                term="P1Y", billing="P1M", start_date=start, anchor_date=start,
                term_end=start.replace(year=start.year + 1) - dt.timedelta(days=1), auto_renew=True,
                status="active", currency="EUR")
            cost = "19.20" if name == "bp" else "30.40"
            _snapshot(uow, subs[name].id, run.id if tenant is nl else failed.id, start, seats, cost,
                      subs[name].product_id)
        _snapshot(uow, subs["e3"].id, run.id, dt.date(2026, 10, 5), 12, "30.40", subs["e3"].product_id)
        issue = Discrepancy(tenant_id=nl.id, customer_id=subs["e3"].customer_id, subscription_id=subs["e3"].id,
                            fingerprint=f"no_mutation:{subs['e3'].id}:2026-10-05", kind="no_mutation",
                            day=dt.date(2026, 10, 5), sentence="vendor shows 12 since 2026-10-05, no mutation",
                            details={}, status="open", first_seen_at=_at(dt.date(2026, 10, 5)),
                            last_seen_at=_at(dt.date(2026, 11, 25)))
        de_issue = Discrepancy(tenant_id=de.id, customer_id=subs["de"].customer_id, subscription_id=subs["de"].id,
                               fingerprint=f"billed_differs:{subs['de'].id}", kind="billed_differs",
                               day=dt.date(2026, 10, 1), sentence="billed 4, vendor 5", details={}, status="open",
                               first_seen_at=_at(dt.date(2026, 11, 1)), last_seen_at=_at(dt.date(2026, 11, 25)))
        uow.session.add_all([issue, de_issue])
        uow.session.add(JobRun(job_id="sync:partner-center", scheduled_for=_at(dt.date(2026, 11, 25)),
                               started_at=_at(dt.date(2026, 11, 25)), finished_at=_at(dt.date(2026, 11, 25), 3),
                               outcome="succeeded", counts={"snapshots": 2}, runner="host:1"))
        uow.session.flush()
        issue_id = issue.id
    finn = actor(settings, "finn")
    september = build_batch(settings, "nl-bv", "2026-09", finn, FixedClock(_at(dt.date(2026, 10, 2), 7)))
    approve_batch(settings, "nl-bv", "2026-09", actor(settings, "anna"), FixedClock(_at(dt.date(2026, 10, 3), 9)))
    october = build_batch(settings, "nl-bv", MONTH, finn, FixedClock(_at(dt.date(2026, 11, 2), 7)))
    greta = actor(settings, "greta")
    de_october = build_batch(settings, "de-gmbh", MONTH, greta, FixedClock(_at(dt.date(2026, 11, 2), 7)))
    with UnitOfWork(engine_for(settings)) as uow:
        nl_invoice = _first_invoice(uow, october.batch_id, subs["e3"].customer_id)
        de_invoice = _first_invoice(uow, de_october.batch_id, subs["de"].customer_id)
        return Seeded(october.batch_id, nl_invoice.id, nl_invoice.lines[0].id, subs["e3"].id, de_october.batch_id,
                      de_invoice.id, subs["de"].id, issue_id, september.batch_id)


def _first_invoice(uow: UnitOfWork, batch_id: int, customer_id: int) -> Invoice:
    return uow.session.scalars(select(Invoice).where(Invoice.batch_id == batch_id, Invoice.customer_id == customer_id)
                               .order_by(Invoice.id)).first()
