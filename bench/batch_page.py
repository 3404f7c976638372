"""Benchmark: finance's review page of a 300,000-invoice draft batch and its month-on-month diff, through the web app.

The ledger holds the customers (with complete addresses) and subscriptions of ``bench.build_batch`` and two batches
written with Core inserts: April (approved) and May (a draft), one invoice per customer with a charge line, and in
May a seat change with a correction line for every tenth customer, a customer gone every hundredth and a new one
every hundred-and-first.
A finance user signs in through the real login form of the FastAPI app and requests the overview (totals,
findings, change per customer), the changes per subscription and the last page of the invoices 20 times each.
Prints the p95 of the page and its diff (goal ≤ 0.5 s) and of each tab. ``BENCH_SCALE=0.01`` runs 1 %. Never
asserts.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bench.build_batch import seed
from bench.common import demo_ledger, in_scratch_folder, print_bench, scaled
from config import Settings
from ledger.models import Batch, Customer, Invoice, InvoiceLine, Subscription, Tenant
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


def _insert(session: Session, model: type[Any], rows: Iterable[dict[str, Any]]) -> None:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        session.execute(insert(model), chunk)


def _bills(month: str, subscriptions: list[tuple[int, int]]) -> Iterator[tuple[int, int, int, list[Decimal]]]:
    """``(n, customer_id, subscription_id, line amounts)`` of each customer billed in ``month``."""
    may = month == MONTHS[1]
    for n, (subscription_id, customer_id) in enumerate(subscriptions):
        if (may and n % 100 == 0) or (not may and n % 101 == 0):
            continue  # gone in May, new in May
        seats = 5 + n % 20
        amounts = [PRICE * seats]
        if may and n % 10 == 1:
            amounts.append(PRICE * 2 * Decimal(n % 28 + 1) / 30)
        yield n, customer_id, subscription_id, [amount.quantize(Decimal("0.01")) for amount in amounts]


def _batch(session: Session, tenant_id: int, month: str, subscriptions: list[tuple[int, int]],
           first_invoice_id: int) -> int:
    """One batch of ``month`` with its invoices and lines; returns the number of invoices."""
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for n, customer_id, subscription_id, amounts in _bills(month, subscriptions):
        invoice_id = first_invoice_id + len(invoices)
        net = sum(amounts, Decimal(0))
        vat = (net * VAT).quantize(Decimal("0.01"))
        invoices.append({"id": invoice_id, "batch_id": None, "tenant_id": tenant_id, "customer_id": customer_id,
                         "invoice_key": f"nl-bv/{month}/{customer_id}/EUR", "currency": "EUR", "net": net,
                         "vat": vat, "gross": net + vat,
                         "vat_breakdown": [{"category": "S", "rate": "21", "taxable": str(net), "vat": str(vat)}]})
        for version, amount in enumerate(amounts, start=1):
            base = f"nl-bv/{customer_id}/sub-{n:07d}/{month}-01..{month}-28/charge"
            lines.append({"invoice_id": invoice_id, "tenant_id": tenant_id, "customer_id": customer_id,
                          "subscription_id": subscription_id, "line_key": f"{base}/v{version}", "base_key": base,
                          "version": version, "kind": "charge" if version == 1 else "correction",
                          "description": "Microsoft 365 E3", "quantity": Decimal(1), "unit_price": amount,
                          "amount": amount, "unrounded": amount, "currency": "EUR", "vat_rate": Decimal(21),
                          "vat_category": "S", "bill_month": month, "lineage": {"bench": True},
                          "reason_code": None if version == 1 else "late_snapshot"})
    net = sum((invoice["net"] for invoice in invoices), Decimal(0))
    vat = sum((invoice["vat"] for invoice in invoices), Decimal(0))
    totals = {"invoices": len(invoices), "lines": len(lines), "currencies": {"EUR": {
        "net": str(net), "vat": str(vat), "gross": str(net + vat), "invoices": len(invoices), "lines": len(lines),
        "by_rate": {"S 21%": {"category": "S", "rate": "21", "taxable": str(net), "vat": str(vat)}}}}}
    batch_id = session.scalar(insert(Batch).returning(Batch.id).values(
        tenant_id=tenant_id, month=month, built_by="finn", built_at=BUILT, totals=totals, makers=["finn"]))
    _insert(session, Invoice, ({**invoice, "batch_id": batch_id} for invoice in invoices))
    _insert(session, InvoiceLine, lines)
    if month == MONTHS[0]:  # written as a draft, then approved: an approved batch is sealed
        session.execute(update(Invoice).where(Invoice.batch_id == batch_id).values(status="approved"))
        session.execute(update(Batch).where(Batch.id == batch_id).values(status="approved", approved_by="anna",
                                                                         approved_at=BUILT))
    return len(invoices)


def seed_batches(settings: Settings, customers: int) -> tuple[int, int]:
    """The customers of ``bench.build_batch`` and an April and a May batch; returns May's id and invoice count."""
    seed(settings, customers)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        session.execute(update(Customer).where(Customer.tenant_id == tenant_id)
                        .values(street="Keizersgracht 1", city="Amsterdam", postal_code="1015 CJ"))
        subscriptions = [tuple(row) for row in session.execute(
            select(Subscription.id, Subscription.customer_id).where(Subscription.tenant_id == tenant_id)
            .order_by(Subscription.id))]
        april = _batch(session, tenant_id, MONTHS[0], subscriptions, 1)
        may = _batch(session, tenant_id, MONTHS[1], subscriptions, april + 1)
        batch_id = session.scalar(select(Batch.id).where(Batch.tenant_id == tenant_id, Batch.month == MONTHS[1]))
    return batch_id, may


def _p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20, method="inclusive")[-1]


def run(folder: Path) -> None:
    count = scaled(300_000)
    settings = demo_ledger(folder)
    initialise(settings)
    started = time.perf_counter()
    batch_id, invoices = seed_batches(settings, count)
    print_bench("seed_batch_pages", invoices, time.perf_counter() - started)
    client = signed_in(settings, "finn")
    last_page = -(-invoices // 50)
    pages = {"overview": f"/batches/{batch_id}", "changes": f"/batches/{batch_id}?tab=changes",
             "invoices_last_page": f"/batches/{batch_id}?tab=invoices&page={last_page}"}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(REQUESTS):
        for name, url in pages.items():
            start = time.perf_counter()
            response = client.get(url)
            timings[name].append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
    page_and_diff = timings["overview"] + timings["changes"]
    print_bench("batch_page_300k", invoices, _p95(page_and_diff), requests=len(page_and_diff),
                **{f"{name}_p95": f"{_p95(values):.3f}" for name, values in timings.items()})


def main() -> None:
    """Run in a temporary folder that is removed afterwards."""
    in_scratch_folder(run)


if __name__ == "__main__":
    main()
