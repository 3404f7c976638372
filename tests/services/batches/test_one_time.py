"""One-time purchases in a batch: billed once in the month of the order, refunds credited against the purchase and
capped at what was invoiced, trials never billed, one source per purchase, idempotent rebuilds and re-syncs, late
purchases as late data of the next batch. On SQLite and PostgreSQL, through the batch build service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import CostLine, InvoiceLine
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
MS_SUB = "6f1c2d3e-0000-4a5b-9c8d-7e6f5a4b3c2d"  # the Microsoft subscription id of the purchase
PC, PAX8 = "partner-center", "pax8"


@dataclass(frozen=True)
class Line:
    """A cost line as a vendor delivered it (defaults: Partner Center, one-time, EUR)."""

    line_id: str
    charge_type: str
    day: str
    quantity: str
    unit_price: str
    subtotal: str
    source: str = PC
    billing_type: str | None = "one_time"
    order_id: str | None = "ORD-1"
    subscription: str = MS_SUB


def add_line(settings: Settings, customer_id: int, line: Line, subscription_id: int | None = None) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        customer = uow.customers.get(customer_id)
        if uow.customers.by_external_id(line.source, f"cust-{customer_id}") is None:
            uow.customers.link(customer, line.source, f"cust-{customer_id}")
        day = dt.date.fromisoformat(line.day)
        uow.session.add(CostLine(
            tenant_id=tenant_id, subscription_id=subscription_id, source=line.source, line_id=line.line_id,
            customer_external_id=f"cust-{customer_id}", subscription_external_id=line.subscription,
            product_id="DG7GMGF0D3SJ:0002", product_name="Windows Server 2022 Standard", charge_type=line.charge_type,
            charge_start=day, charge_end=day, quantity=Decimal(line.quantity), unit_price=Decimal(line.unit_price),
            subtotal=Decimal(line.subtotal), currency="EUR", billing_type=line.billing_type, order_id=line.order_id,
            ordered_on=day, raw={}))


def add_one_time_subscription(settings: Settings, customer_id: int, external_id: str, start: str,
                              vendor_id: str | None = MS_SUB, status: str = "active",
                              billing_type: str = "one_time") -> int:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        return uow.subscriptions.add(
            tenant_id=uow.tenants.by_code("nl-bv").id, customer_id=customer_id, source=PAX8, external_id=external_id,
            vendor_subscription_id=vendor_id, product_id="DG7GMGF0D3SJ:0002", sku=None,
            product_name="Windows Server 2022 Standard", term=None, billing="ONE_TIME", billing_type=billing_type,
            start_date=dt.date.fromisoformat(start), anchor_date=dt.date.fromisoformat(start), status=status,
            currency="EUR").id


def one_time_lines(settings: Settings) -> dict[str, InvoiceLine]:
    """Draft and billed lines of one-time purchases and refunds, by line key without the customer prefix."""
    with UnitOfWork(engine_for(settings)) as uow:
        rows = uow.session.scalars(select(InvoiceLine).order_by(InvoiceLine.line_key)).all()
        return {row.line_key.split("/", 2)[2]: row for row in rows if "/one_time" in row.base_key}


@pytest.fixture
def customer(settings: Settings) -> int:
    initialise(settings)
    return add_customer(settings, "nl-bv", "Fabrikam")


@dataclass(frozen=True)
class Case:
    name: str
    lines: tuple[Line, ...]
    want: dict[str, str]  # line key (after tenant/customer) -> amount; nl-bv sells at cost + 15 %
    problems: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


NEW = Line("l-1", "New", "2026-04-14", "2", "100.00", "200.00")
KEY = f"ext:{MS_SUB}/2026-04-14..2026-04-14"
CASES = (
    Case("purchase", (NEW,), {f"{KEY}/one_time/v1": "230.00"}),
    Case("refund in window", (NEW, Line("l-2", "Refund", "2026-04-16", "1", "-100.00", "-100.00")),
         {f"{KEY}/one_time/v1": "230.00", f"ext:{MS_SUB}/2026-04-14..2026-04-16/one_time_refund/v1": "-115.00"}),
    Case("cancel in the next month", (NEW, Line("l-2", "cancelImmediate", "2026-05-02", "2", "-100.00", "-200.00")),
         {f"{KEY}/one_time/v1": "230.00", f"ext:{MS_SUB}/2026-04-14..2026-05-02/one_time_refund/v1": "-230.00"}),
    Case("refund larger than the purchase", (NEW, Line("l-2", "Refund", "2026-04-16", "3", "-100.00", "-300.00")),
         {f"{KEY}/one_time/v1": "230.00", f"ext:{MS_SUB}/2026-04-14..2026-04-16/one_time_refund/v1": "-230.00"}),
    Case("second refund capped by the first", (NEW, Line("l-2", "Refund", "2026-04-15", "1", "-100.00", "-150.00"),
                                               Line("l-3", "Refund", "2026-04-17", "1", "-100.00", "-100.00")),
         {f"{KEY}/one_time/v1": "230.00", f"ext:{MS_SUB}/2026-04-14..2026-04-15/one_time_refund/v1": "-172.50",
          f"ext:{MS_SUB}/2026-04-14..2026-04-17/one_time_refund/v1": "-57.50"}),
    Case("trial line", (Line("l-1", "New", "2026-04-14", "25", "0", "0", billing_type="trial"),), {}),
    Case("zero-price trial conversion", (Line("l-1", "convert", "2026-04-14", "25", "0", "0"),), {}),
    Case("licence line is no purchase", (Line("l-1", "cycleCharge", "2026-04-14", "2", "30", "60",
                                              billing_type="license"),), {}),
    Case("same purchase from Partner Center and Pax8", (NEW, Line("p-1", "one-time", "2026-04-14", "2", "101.00",
                                                                  "202.00", source=PAX8, order_id=None)),
         {f"{KEY}/one_time/v1": "230.00"}),
    Case("refund before any purchase", (Line("l-2", "Refund", "2026-04-16", "1", "-100.00", "-100.00"),), {},
         ("matches no purchase",)),
    Case("purchase before go-live", (Line("l-1", "New", "2026-03-30", "2", "100.00", "200.00"),
                                     Line("l-2", "Refund", "2026-04-02", "2", "-100.00", "-200.00")), {},
         ("did not bill",)),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_one_time_rules(settings: Settings, customer: int, case: Case) -> None:
    for line in case.lines:
        add_line(settings, customer, line)
    april = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    may = build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    got = {key: line.amount for key, line in one_time_lines(settings).items()}
    assert got == {key: Decimal(amount) for key, amount in case.want.items()}
    for expected in case.problems:
        assert any(expected in problem for problem in april.problems + may.problems), april.problems + may.problems


def test_refund_names_the_purchase_line_it_credits(settings: Settings, customer: int) -> None:
    add_line(settings, customer, NEW)
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    add_line(settings, customer, Line("l-2", "Refund", "2026-05-03", "1", "-100.00", "-100.00"))
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    lines = one_time_lines(settings)
    purchase = lines[f"{KEY}/one_time/v1"]
    refund = lines[f"ext:{MS_SUB}/2026-04-14..2026-05-03/one_time_refund/v1"]
    assert (refund.kind, refund.amount, refund.bill_month) == ("credit", Decimal("-115.00"), "2026-05")
    assert refund.corrects_line_key == purchase.line_key
    assert refund.lineage["details"]["credits"] == purchase.base_key
    assert refund.lineage["input_ids"] == [f"cost_line:{_line_row(settings, 'l-2')}"]
    assert purchase.lineage["input_ids"] == [f"cost_line:{_line_row(settings, 'l-1')}"]
    assert "ORD-1" in purchase.lineage["details"]["orders"]


def _line_row(settings: Settings, line_id: str) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(CostLine.id).where(CostLine.line_id == line_id))


def test_snapshot_and_cost_line_of_one_purchase_bill_once(settings: Settings, customer: int) -> None:
    sub = add_one_time_subscription(settings, customer, "pax8-sub-1", "2026-04-14")
    snapshot(settings, sub, "2026-04-14", 2, unit_cost="100.00", product="DG7GMGF0D3SJ:0002")
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    before = one_time_lines(settings)
    assert {key: line.amount for key, line in before.items()} == {
        f"{sub}/2026-04-14..2026-04-14/one_time/v1": Decimal("230.00")}
    # the distributor's invoice item for the same purchase arrives: same key, billed once, source named
    add_line(settings, customer, Line("p-1", "one-time", "2026-04-14", "2", "100.00", "200.00", source=PAX8,
                                      order_id=None, subscription="pax8-sub-1"), subscription_id=sub)
    add_line(settings, customer, Line("l-1", "New", "2026-04-14", "2", "100.00", "200.00"))  # and Partner Center's
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    after = one_time_lines(settings)
    assert list(after) == list(before)
    details = after[f"{sub}/2026-04-14..2026-04-14/one_time/v1"].lineage["details"]
    assert details["also_reported_by"] == "partner-center, snapshot"
    assert report.problems == []


@pytest.mark.parametrize("status, billing_type", [("trial", "one_time"), ("active", "trial")])
def test_trial_subscriptions_are_never_billed(settings: Settings, customer: int, status: str,
                                              billing_type: str) -> None:
    one_time = add_one_time_subscription(settings, customer, "trial-1", "2026-04-03", status=status,
                                         billing_type=billing_type)
    snapshot(settings, one_time, "2026-04-03", 25, unit_cost="10.00", status=status, product="DG7GMGF0D3SJ:0002")
    licence = add_subscription(settings, "nl-bv", customer, "pc-trial", "2026-04-03")  # a monthly NCE trial
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.subscriptions.get(licence).billing_type = "trial"
    snapshot(settings, licence, "2026-04-03", 25)
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    assert report.lines == 0


def test_cancellation_seen_in_snapshots_is_credited_only_inside_the_window(settings: Settings, customer: int) -> None:
    inside = add_one_time_subscription(settings, customer, "sw-1", "2026-04-06", vendor_id="ms-1")
    late = add_one_time_subscription(settings, customer, "sw-2", "2026-04-06", vendor_id="ms-2")
    for sub, cancelled in ((inside, "2026-04-09"), (late, "2026-04-20")):
        snapshot(settings, sub, "2026-04-06", 1, unit_cost="100.00", product="DG7GMGF0D3SJ:0002")
        snapshot(settings, sub, cancelled, 1, unit_cost="100.00", status="cancelled", product="DG7GMGF0D3SJ:0002")
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    got = {key: line.amount for key, line in one_time_lines(settings).items()}
    assert got == {f"{inside}/2026-04-06..2026-04-06/one_time/v1": Decimal("115.00"),
                   f"{inside}/2026-04-06..2026-04-09/one_time_refund/v1": Decimal("-115.00"),
                   f"{late}/2026-04-06..2026-04-06/one_time/v1": Decimal("115.00")}
    assert any("after the 7-day window" in problem for problem in report.problems)


def test_building_twice_and_resyncing_add_nothing(settings: Settings, customer: int) -> None:
    add_line(settings, customer, NEW)
    add_line(settings, customer, Line("l-2", "Refund", "2026-04-16", "1", "-100.00", "-100.00"))
    first = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    before = {key: (line.id, line.amount) for key, line in one_time_lines(settings).items()}
    with UnitOfWork(engine_for(settings), write=True) as uow:  # the next night delivers the same lines again
        rows = [{column: getattr(row, column) for column in ("tenant_id", "subscription_id", "line_id",
                 "customer_external_id", "subscription_external_id", "product_id", "product_name", "charge_type",
                 "charge_start", "charge_end", "quantity", "unit_price", "subtotal", "currency", "reference_id",
                 "invoice_id", "billing_type", "order_id", "ordered_on", "raw")}
                for row in uow.session.scalars(select(CostLine))]
        stored = uow.cost_lines.upsert_many(PC, rows, None)
    second = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    assert (stored.inserted, stored.updated) == (0, 0)
    assert (second.added, second.changed, second.removed) == (0, 0, 0)
    assert {key: (line.id, line.amount) for key, line in one_time_lines(settings).items()} == before
    assert first.totals == second.totals and len(before) == 2


def test_purchase_reported_after_approval_is_late_data_of_the_next_batch(settings: Settings, customer: int) -> None:
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    add_line(settings, customer, Line("l-9", "New", "2026-04-28", "1", "100.00", "100.00"))
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    late = one_time_lines(settings)[f"ext:{MS_SUB}/2026-04-28..2026-04-28/one_time/v1"]
    assert (late.kind, late.reason_code, late.amount, late.bill_month) == (
        "correction", "late_purchase", Decimal("115.00"), "2026-04")
    assert late.lineage["late"] == {"reason": "late_purchase"}
