"""Benchmark: finance's review page of a 300,000-invoice draft batch and its month-on-month diff, through the web app.

The ledger holds 300,000 customers (with complete addresses), one monthly subscription and one or two snapshots each
(the shape of ``bench.build_batch``'s ledger), the desk's ticket for each licence in March (300,000 mutations: the
page's vendor counts depend on every one) and two batches: April (approved) and May (a draft), one invoice per
customer with a charge line, and in May a seat change with a correction line for every tenth customer, a customer
gone every hundredth and a new one every hundred-and-first. Everything is written with the bulk writer
(``ledger.repositories.bulk_insert.insert_rows``: one executemany per chunk of plain values, JSON as ready text),
ids given up front so nothing is read back, rows generated a chunk at a time.
A finance user signs in through the real login form of the FastAPI app and requests the overview (totals,
findings, change per customer), the changes per subscription and the invoices tab (first page, a page in the
middle by ``?after=KEY``, and the last page by ``?before=``: keyset paging) and the batch's export page (first and
last window, with the progress of the whole batch) 20 times each. Prints the p95 of the page and its diff (goal
≤ 0.5 s), of each tab, of the invoice pages together and of the export pages.
May's review figures are then prepared as a build prepares them (``services.batches.prepared``: the changes
against April and the vendor-count walk), so the page reads them back as it does after a build.
``BENCH_SCALE=0.01`` runs 1 %. Never asserts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from bench.common import demo_ledger, in_scratch_folder, print_bench, scaled
from config import Settings
from ledger.models import Batch, Customer, Invoice, InvoiceLine, Mutation, Snapshot, Subscription, Tenant
from ledger.repositories.bulk_insert import insert_rows
from rating.months import month_bounds
from services.batches.prepared import prepare_review
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.web.conftest import signed_in

MONTHS = ("2026-04", "2026-05")
REQUESTS = 20
CHUNK = 20_000
PRICE = Decimal("12.35")
VAT = Decimal("0.21")
BUILT = dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC)
CREATED = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
RAW_HASH = hashlib.sha256(b"bench").hexdigest()
LINEAGE = json.dumps({"bench": True})


def _write(session: Session, table: Table, rows: Iterable[dict[str, Any]], json_text: tuple[str, ...] = ()) -> int:
    """Insert ``rows`` (a generator) a chunk at a time with the bulk writer; returns how many."""
    iterator, written = iter(rows), 0
    while chunk := list(islice(iterator, CHUNK)):
        written += insert_rows(session, table, chunk, json_text)
    return written


def _next_id(session: Session, model: type[Any]) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _ledger(session: Session, tenant_id: int, customers: int) -> tuple[int, int]:
    """``customers`` customers with one monthly licence each and one or two snapshots (a seat change inside May for
    every tenth), as ``bench.build_batch.seed`` writes them; returns the first customer and subscription id."""
    first_customer, first_subscription = _next_id(session, Customer), _next_id(session, Subscription)
    _write(session, Customer.__table__, ({
        "id": first_customer + n, "tenant_id": tenant_id, "name": f"Customer {n:07d}", "country": "NL",
        "is_business": True, "street": "Keizersgracht 1", "city": "Amsterdam", "postal_code": "1015 CJ",
        "created_at": CREATED} for n in range(customers)))
    _write(session, Subscription.__table__, ({
        "id": first_subscription + n, "tenant_id": tenant_id, "customer_id": first_customer + n,
        "source": "partner-center", "external_id": f"sub-{n:07d}", "product_id": "CFQ7TTC0LH18:0001", "sku": "0001",
        "product_name": "Microsoft 365 E3", "term": "P1Y", "billing": "P1M", "start_date": dt.date(2026, 3, 1 + n % 28),
        "anchor_date": dt.date(2026, 3, 1 + n % 28), "status": "active", "currency": "EUR", "billing_type": "license",
        "created_at": CREATED, "updated_at": CREATED} for n in range(customers)))

    def snapshots() -> Iterable[dict[str, Any]]:
        for n in range(customers):
            seen = [(dt.date(2026, 3, 1 + n % 28), 5 + n % 20)]
            if n % 10 == 0:
                seen.append((dt.date(2026, 5, 1 + (n + 7) % 28), 7 + n % 20))
            for day, quantity in seen:
                yield {"subscription_id": first_subscription + n,
                       "observed_at": dt.datetime.combine(day, dt.time(2), dt.UTC), "observed_on": day,
                       "quantity": Decimal(quantity), "status": "active", "product_id": "CFQ7TTC0LH18:0001",
                       "unit_cost": Decimal("30.00"), "currency": "EUR", "raw": "{}", "raw_hash": RAW_HASH}

    _write(session, Snapshot.__table__, snapshots(), json_text=("raw",))
    _write(session, Mutation.__table__, ({  # the desk's history: one ticket per licence at its purchase
        "tenant_id": tenant_id, "customer_id": first_customer + n, "subscription_id": first_subscription + n,
        "kind": "increase", "effective_date": dt.date(2026, 3, 1 + n % 28), "new_quantity": Decimal(5 + n % 20),
        "delta": None, "ticket_ref": f"T-{n}", "status": "provisioned", "created_by": "dana", "created_at": CREATED}
        for n in range(customers)))
    return first_customer, first_subscription


def _bills(month: str, customers: int) -> Iterable[tuple[int, list[Decimal]]]:
    """``(n, line amounts)`` of each customer billed in ``month``."""
    may = month == MONTHS[1]
    for n in range(customers):
        if (may and n % 100 == 0) or (not may and n % 101 == 0):
            continue  # gone in May, new in May
        amounts = [PRICE * (5 + n % 20)]
        if may and n % 10 == 1:
            amounts.append(PRICE * 2 * Decimal(n % 28 + 1) / 30)
        yield n, [amount.quantize(Decimal("0.01")) for amount in amounts]


def _batch(session: Session, tenant_id: int, month: str, customers: int, first_customer: int,
           first_subscription: int) -> tuple[int, int]:
    """One batch of ``month`` with its invoices and lines, written a chunk at a time; returns its id and invoice
    count. Invoice ids follow the billed customers in order, so lines name their invoice without reading it back."""
    batch_id = session.scalar(insert(Batch).returning(Batch.id).values(
        tenant_id=tenant_id, month=month, built_by="finn", built_at=BUILT, totals={}, makers=["finn"]))
    first_invoice = _next_id(session, Invoice)
    net_total = vat_total = Decimal(0)
    invoices = lines = 0

    def invoice_rows(bills: list[tuple[int, list[Decimal]]], first_id: int) -> Iterable[dict[str, Any]]:
        nonlocal net_total, vat_total
        for offset, (n, amounts) in enumerate(bills):
            net = sum(amounts, Decimal(0))
            vat = (net * VAT).quantize(Decimal("0.01"))
            net_total, vat_total = net_total + net, vat_total + vat
            breakdown = json.dumps([{"category": "S", "rate": "21", "taxable": str(net), "vat": str(vat)}])
            yield {"id": first_id + offset, "batch_id": batch_id, "tenant_id": tenant_id,
                   "customer_id": first_customer + n, "invoice_key": f"nl-bv/{month}/{first_customer + n}/EUR",
                   "group_key": None, "currency": "EUR", "net": net, "vat": vat, "gross": net + vat,
                   "vat_breakdown": breakdown, "status": "draft", "document_type": "380", "number": None,
                   "issue_date": None, "corrects_invoice_id": None, "corrected_invoices": "[]"}

    def line_rows(bills: list[tuple[int, list[Decimal]]], first_id: int) -> Iterable[dict[str, Any]]:
        for offset, (n, amounts) in enumerate(bills):
            for version, amount in enumerate(amounts, start=1):
                base = f"nl-bv/{first_customer + n}/sub-{n:07d}/{month}-01..{month}-28/charge"
                yield {"invoice_id": first_id + offset, "tenant_id": tenant_id, "customer_id": first_customer + n,
                       "subscription_id": first_subscription + n, "line_key": f"{base}/v{version}", "base_key": base,
                       "version": version, "kind": "charge" if version == 1 else "correction",
                       "description": "Microsoft 365 E3", "quantity": Decimal(1), "unit_price": amount,
                       "amount": amount, "unrounded": amount, "currency": "EUR", "vat_rate": Decimal(21),
                       "vat_category": "S", "bill_month": month, "lineage": LINEAGE,
                       "reason_code": None if version == 1 else "late_snapshot"}

    bills = _bills(month, customers)
    while chunk := list(islice(bills, CHUNK)):
        first_id = first_invoice + invoices
        invoices += _write(session, Invoice.__table__, invoice_rows(chunk, first_id),
                           json_text=("vat_breakdown", "corrected_invoices"))
        lines += _write(session, InvoiceLine.__table__, line_rows(chunk, first_id), json_text=("lineage",))
    totals = {"invoices": invoices, "lines": lines, "currencies": {"EUR": {
        "net": str(net_total), "vat": str(vat_total), "gross": str(net_total + vat_total), "invoices": invoices,
        "lines": lines, "by_rate": {"S 21%": {"category": "S", "rate": "21", "taxable": str(net_total),
                                              "vat": str(vat_total)}}}}}
    session.execute(update(Batch).where(Batch.id == batch_id).values(totals=totals))
    if month == MONTHS[0]:  # written as a draft, then approved: an approved batch is sealed
        session.execute(update(Invoice).where(Invoice.batch_id == batch_id).values(status="approved"))
        session.execute(update(Batch).where(Batch.id == batch_id).values(status="approved", approved_by="anna",
                                                                         approved_at=BUILT))
    return batch_id, invoices


def seed_batches(settings: Settings, customers: int,
                 progress: Callable[[str], None] = lambda _step: None) -> tuple[int, int]:
    """The customers, subscriptions and snapshots, an April and a May batch; returns May's id and invoice count."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        first_customer, first_subscription = _ledger(session, tenant_id, customers)
        progress("customers, subscriptions, snapshots")
        _batch(session, tenant_id, MONTHS[0], customers, first_customer, first_subscription)
        progress(f"batch {MONTHS[0]}")
        batch_id, invoices = _batch(session, tenant_id, MONTHS[1], customers, first_customer, first_subscription)
        progress(f"batch {MONTHS[1]}")
        prepare_review(uow, uow.batches.get(batch_id), *month_bounds(MONTHS[1]), BUILT)
        progress("review figures the build prepares")
    return batch_id, invoices


def _p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20, method="inclusive")[-1]


def _middle_key(settings: Settings, batch_id: int, invoices: int) -> str:
    """The invoice key half-way through the batch (read once, outside the timings): a "next" link's ``after``."""
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(Invoice.invoice_key).where(Invoice.batch_id == batch_id)
                                  .order_by(Invoice.invoice_key).offset(invoices // 2).limit(1))


def run(folder: Path) -> None:
    count = scaled(300_000)
    settings = demo_ledger(folder)
    initialise(settings)
    started = time.perf_counter()

    def progress(step: str) -> None:
        print(f"seeded {step} at {time.perf_counter() - started:.1f} s", flush=True)

    batch_id, invoices = seed_batches(settings, count, progress)
    print_bench("seed_batch_pages", invoices, time.perf_counter() - started, customers=count)
    client = signed_in(settings, "finn")
    invoices_tab = f"/batches/{batch_id}?tab=invoices"
    middle = urlencode({"after": _middle_key(settings, batch_id, invoices)})
    pages = {"overview": f"/batches/{batch_id}", "changes": f"/batches/{batch_id}?tab=changes",
             "invoices_first_page": invoices_tab,
             "invoices_middle_page": f"{invoices_tab}&{middle}",
             "invoices_last_page": f"{invoices_tab}&before=",
             "export_first_page": f"/batches/{batch_id}/export",
             "export_last_page": f"/batches/{batch_id}/export?before="}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    rows: dict[str, int] = {}
    for _ in range(REQUESTS):
        for name, url in pages.items():
            start = time.perf_counter()
            response = client.get(url)
            timings[name].append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            rows[name] = response.text.count('<a href="/invoices/')
    page_and_diff = timings["overview"] + timings["changes"]
    print_bench("batch_page_300k", invoices, _p95(page_and_diff), requests=len(page_and_diff),
                **{f"{name}_p95": f"{_p95(values):.3f}" for name, values in timings.items()},
                load_average=f"{os.getloadavg()[0]:.2f}")
    invoice_pages = [t for name, values in timings.items() if name.startswith("invoices_") for t in values]
    print_bench("batch_invoice_pages_300k", invoices, _p95(invoice_pages), requests=len(invoice_pages),
                rows_per_page="/".join(str(rows[name]) for name in pages if name.startswith("invoices_")))
    export_pages = timings["export_first_page"] + timings["export_last_page"]
    print_bench("batch_export_page_300k", invoices, _p95(export_pages), requests=len(export_pages),
                rows_per_page="/".join(str(rows[name]) for name in pages if name.startswith("export_")))


def main() -> None:
    """Run in a temporary folder that is removed afterwards."""
    in_scratch_folder(run)


if __name__ == "__main__":
    main()
