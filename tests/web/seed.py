"""A month of ledger data for the web desk tests, written through the unit of work.

Why the ORM and not the sync/batch services: those services are being written in parallel; the seed only writes
facts (vendor snapshots, a built draft batch with lineage, earlier approved months, discrepancies, sync and job runs)
that those services would have written, and the pages and actions under test then run through the real services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from config import Settings
from ledger.models import (
    Batch,
    Discrepancy,
    Invoice,
    InvoiceLine,
    InvoiceNumberCounter,
    JobRun,
    Snapshot,
)
from services.init import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
MONTH = "2026-10"
CENT = Decimal("0.01")


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


def _invoice(uow: UnitOfWork, batch: Batch, customer_id: int, subscription_id: int, month: str, seats: int,
             price: str, rate: str, status: str, number: str | None) -> Invoice:
    """One invoice with one seat line whose lineage names its snapshot inputs, formula and rounding."""
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    unrounded = Decimal(seats) * Decimal(price)
    amount = unrounded.quantize(CENT, ROUND_HALF_UP)
    vat = (amount * Decimal(rate) / 100).quantize(CENT, ROUND_HALF_UP)
    key = f"{batch.tenant_id}:c{customer_id}:s{subscription_id}:{first}:{last}:charge"
    line = InvoiceLine(
        tenant_id=batch.tenant_id, customer_id=customer_id, subscription_id=subscription_id,
        line_key=f"{key}:v1", base_key=key, version=1, kind="charge",
        description=f"Microsoft 365 E3, {seats} seats, {first:%B %Y}", period_from=first, period_to=last,
        quantity=Decimal(seats), unit_price=Decimal(price), amount=amount, unrounded=unrounded, currency="EUR",
        vat_rate=Decimal(rate), vat_category="S",
        lineage={"input_ids": [f"snapshot:{subscription_id}:{first}"], "price_version": "config:markup 15%",
                 "convention": "microsoft", "formula": f"{seats} × {price} × {last.day}/{last.day}",
                 "unrounded": format(unrounded, "f"), "rounding": "half_up",
                 "details": {"cycle": f"{first} – {last}"}},
    )
    invoice = Invoice(batch_id=batch.id, tenant_id=batch.tenant_id, customer_id=customer_id,
                      invoice_key=f"{batch.tenant_id}:{month}:c{customer_id}", number=number,
                      issue_date=last + dt.timedelta(days=1) if number else None, currency="EUR", net=amount, vat=vat,
                      gross=amount + vat, vat_breakdown=[{"rate": rate, "taxable": str(amount), "vat": str(vat)}],
                      status=status, lines=[line])
    uow.session.add(invoice)
    uow.session.flush()
    return invoice


def seed_month(settings: Settings, extra_invoices: int = 0) -> Seeded:
    """nl-bv: two customers, an approved September, a draft October built by finn (plus ``extra_invoices`` more
    invoices to page through); de-gmbh: one customer with a draft October; open discrepancies; runs."""
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        nl = uow.tenants.by_code("nl-bv")
        de = uow.tenants.by_code("de-gmbh")
        run = uow.sync_runs.start("partner-center", _at(dt.date(2026, 11, 25)), nl.id)
        uow.sync_runs.finish(run, "succeeded", {"subscriptions": 2, "snapshots": 2}, [])
        failed = uow.sync_runs.start("pax8", _at(dt.date(2026, 11, 25)), de.id)
        uow.sync_runs.finish(failed, "failed", {}, [], "pax8: HTTP 503 from /subscriptions after 5 attempts")
        contoso = uow.customers.add(nl.id, "Contoso Zorg B.V.", reference="C00001", country="NL")
        fabrikam = uow.customers.add(nl.id, "Fabrikam Logistiek", reference="C00002", country="NL")
        mueller = uow.customers.add(de.id, "Müller Maschinenbau GmbH", reference="D20001", country="DE")
        subs = {}
        for name, customer, tenant, start in (("e3", contoso, nl, dt.date(2026, 1, 10)),
                                              ("bp", fabrikam, nl, dt.date(2026, 3, 1)),
                                              ("de", mueller, de, dt.date(2026, 2, 1))):
            subs[name] = uow.subscriptions.add(
                tenant_id=tenant.id, customer_id=customer.id, source="partner-center" if tenant is nl else "pax8",
                external_id=f"sub-{name}-0001", vendor_subscription_id=f"vs-{name}", product_id=f"CFQ7TTC0LF8Q:{name}",
                sku="0001", product_name="Microsoft 365 E3" if name != "bp" else "Microsoft 365 Business Premium",
                term="P1Y", billing="P1M", start_date=start, anchor_date=start,
                term_end=start.replace(year=start.year + 1) - dt.timedelta(days=1), auto_renew=True,
                status="active", currency="EUR")
            uow.customers.link(customer, "partner-center" if tenant is nl else "pax8", f"cust-{name}")
        _snapshot(uow, subs["e3"].id, run.id, dt.date(2026, 1, 10), 10, "30.40", "CFQ7TTC0LF8Q:e3")
        _snapshot(uow, subs["e3"].id, run.id, dt.date(2026, 10, 5), 12, "30.40", "CFQ7TTC0LF8Q:e3")
        _snapshot(uow, subs["bp"].id, run.id, dt.date(2026, 3, 1), 25, "19.20", "CFQ7TTC0LF8Q:bp")
        _snapshot(uow, subs["de"].id, failed.id, dt.date(2026, 2, 1), 5, "30.40", "CFQ7TTC0LF8Q:de")

        september = Batch(tenant_id=nl.id, month="2026-09", status="exported", built_by="finn",
                          built_at=_at(dt.date(2026, 10, 2)), approved_by="anna", approved_at=_at(dt.date(2026, 10, 3)))
        october = Batch(tenant_id=nl.id, month=MONTH, status="draft", built_by="finn",
                        built_at=_at(dt.date(2026, 11, 2)))
        de_october = Batch(tenant_id=de.id, month=MONTH, status="draft", built_by="greta",
                           built_at=_at(dt.date(2026, 11, 2)))
        uow.session.add_all([september, october, de_october])
        uow.session.flush()
        _invoice(uow, september, contoso.id, subs["e3"].id, "2026-09", 10, "34.96", "21", "exported", "NL2026-00001")
        _invoice(uow, september, fabrikam.id, subs["bp"].id, "2026-09", 25, "22.08", "21", "exported", "NL2026-00002")
        uow.session.add(InvoiceNumberCounter(tenant_id=nl.id, year=2026, last_number=2))
        nl_invoice = _invoice(uow, october, contoso.id, subs["e3"].id, MONTH, 12, "34.96", "21", "draft", None)
        _invoice(uow, october, fabrikam.id, subs["bp"].id, MONTH, 25, "22.08", "21", "draft", None)
        for n in range(extra_invoices):
            extra = uow.customers.add(nl.id, f"Paging Customer {n:05d}", reference=f"P{n:05d}", country="NL")
            _invoice(uow, october, extra.id, subs["bp"].id, MONTH, 1 + n % 7, "22.08", "21", "draft", None)
        de_invoice = _invoice(uow, de_october, mueller.id, subs["de"].id, MONTH, 5, "35.87", "19", "draft", None)

        issue = Discrepancy(tenant_id=nl.id, customer_id=contoso.id, subscription_id=subs["e3"].id,
                            fingerprint=f"no_mutation:{subs['e3'].id}:2026-10-05", kind="no_mutation",
                            day=dt.date(2026, 10, 5), sentence="vendor shows 12 since 2026-10-05, no mutation",
                            details={}, status="open", first_seen_at=_at(dt.date(2026, 10, 5)),
                            last_seen_at=_at(dt.date(2026, 11, 25)))
        de_issue = Discrepancy(tenant_id=de.id, customer_id=mueller.id, subscription_id=subs["de"].id,
                               fingerprint=f"billed_differs:{subs['de'].id}", kind="billed_differs",
                               day=dt.date(2026, 10, 1), sentence="billed 4, vendor 5", details={}, status="open",
                               first_seen_at=_at(dt.date(2026, 11, 1)), last_seen_at=_at(dt.date(2026, 11, 25)))
        uow.session.add_all([issue, de_issue])
        uow.session.add(JobRun(job_id="sync:partner-center", scheduled_for=_at(dt.date(2026, 11, 25)),
                               started_at=_at(dt.date(2026, 11, 25)), finished_at=_at(dt.date(2026, 11, 25), 3),
                               outcome="succeeded", counts={"snapshots": 2}, runner="host:1"))
        uow.session.flush()
        return Seeded(october.id, nl_invoice.id, nl_invoice.lines[0].id, subs["e3"].id, de_october.id, de_invoice.id,
                      subs["de"].id, issue.id, september.id)
