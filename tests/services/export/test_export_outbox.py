"""The export outbox against the BC SOAP sandbox over loopback: every approved invoice reaches the ERP exactly once
under ERP faults and crashes between our steps, with the right totals, VAT and lines. Runs on SQLite and PostgreSQL.

The ledger is seeded with approved invoices through the unit of work (the batch service is written elsewhere).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from config.schema import Tenant as TenantConfig
from erp_export.base import RetryPolicy
from erp_export.bc_soap import BcSoapExporter
from erp_export.documents import vat_amount
from ledger.models import Batch, Customer, Export, Invoice, InvoiceLine
from sandbox import bc_soap as bc_sandbox
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxApp, SandboxServer
from services.clock import FixedClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.export import (
    ErpTarget,
    ExportOutcome,
    erp_reference,
    erp_target,
    export_invoices,
    export_status,
    line_reference,
    retry_due_exports,
    retry_export,
)
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import actor

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.2, settle=1.0)  # settle > the slow fault
SOAP = "POST /WS/.*"
NOW = dt.datetime(2026, 6, 2, 9, 0, tzinfo=dt.UTC)
MONTH = "2026-05"


# ---------------------------------------------------------------------------------------------------------------
# Fixtures and seeding, shared with tests/e2e/test_export_*.py


@dataclass
class Soap:
    app: SandboxApp
    server: SandboxServer

    @property
    def service_url(self) -> str:
        return f"{self.server.url}{bc_sandbox.PREFIX}/WS/{quote(bc_sandbox.COMPANY)}/Page/SalesInvoice"

    def state(self) -> dict[str, Any]:
        response = requests.get(f"{self.server.url}{bc_sandbox.PREFIX}/__admin/state", timeout=5)
        return json.loads(response.text, parse_float=Decimal)

    def documents(self, ref: str) -> list[dict[str, Any]]:
        state = self.state()
        return [d for d in state["invoices"] + state["posted"] if d["External_Document_No"] == ref]


@pytest.fixture
def soap() -> Iterator[Soap]:
    app = bc_sandbox.build(SandboxClock(), seed=1)
    server = SandboxServer(app, prefix=bc_sandbox.PREFIX).start()
    try:
        yield Soap(app, server)
    finally:
        server.stop()


def soap_settings(base: Settings, soap: Soap, tmp_path: Path, **erp: Any) -> Settings:
    """The demo config on this test's database with nl-bv exporting to the SOAP sandbox."""
    data = demo_config_data()
    data["database"] = {"url": base.database_url(), "url_env": None}
    nl = next(t for t in data["tenants"] if t["code"] == "nl-bv")
    nl["erp"] = {"kind": "bc_soap", "base_url": soap.service_url, "company": bc_sandbox.COMPANY,
                 "username_env": "CSPBILL_BC_SOAP_USER", "password_env": "CSPBILL_BC_SOAP_KEY", **erp}
    return parse_settings(data, tmp_path / "config.yaml")


@pytest.fixture
def soap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPBILL_BC_SOAP_USER", bc_sandbox.CREDENTIALS["username"])
    monkeypatch.setenv("CSPBILL_BC_SOAP_KEY", bc_sandbox.CREDENTIALS["password"])


@pytest.fixture
def nl(settings: Settings, soap: Soap, soap_env: None, tmp_path: Path) -> Settings:
    configured = soap_settings(settings, soap, tmp_path)
    initialise(configured)
    return configured


def short_timeouts(settings: Settings, tenant: TenantConfig) -> ErpTarget:
    """The configured adapter with a short SOAP operation timeout, so a slow ERP is a timeout within the test, and the
    sandbox's longest request as the bound of an unanswered write (no fault here holds a write longer than 0.8 s)."""
    target = erp_target(settings, tenant)
    assert isinstance(target.exporter, BcSoapExporter)
    return replace(target, exporter=BcSoapExporter(replace(target.exporter.config, operation_timeout=0.5)),
                   longest_request=0.9)


def seed_invoices(settings: Settings, tenant: str = "nl-bv", month: str = MONTH, count: int = 3,
                  customers: list[str] | None = None, rates: tuple[str, ...] = ("21",),
                  status: str = "approved", prices: tuple[str, str] = ("31.20", "10.555"),
                  kinds: tuple[str, str] = ("charge", "charge")) -> list[str]:
    """An approved batch of ``count`` invoices (one per customer, two lines each); returns the invoice numbers.

    Written as a draft and then issued, as approval does: nothing may be added under a sealed batch or invoice."""
    references = customers or [f"C{n:05d}" for n in range(1, count + 1)]
    numbers, invoices = [], []
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_row = uow.tenants.by_code(tenant)
        batch = Batch(tenant_id=tenant_row.id, month=month, status="draft", built_by="finn", totals={})
        session.add(batch)
        session.flush()
        for n, reference in enumerate(references, start=1):
            customer = Customer(tenant_id=tenant_row.id, name=f"Customer {reference}", reference=reference,
                                country="NL")
            session.add(customer)
            session.flush()
            number = f"NL{month[:4]}-{month[5:]}{n:03d}"
            lines = [(f"{tenant}:c{customer.id}:sub1:{month}:{kinds[0]}:v1", Decimal(25), Decimal(prices[0]),
                      rates[0], kinds[0]),
                     (f"{tenant}:c{customer.id}:sub2:{month}:{kinds[1]}:v1", Decimal(3), Decimal(prices[1]),
                      rates[-1], kinds[1])]
            rows, taxable = [], {}
            for key, quantity, price, rate, kind in lines:
                amount = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
                taxable[Decimal(rate)] = taxable.get(Decimal(rate), Decimal(0)) + amount
                rows.append(InvoiceLine(tenant_id=tenant_row.id, customer_id=customer.id, line_key=key,
                                        base_key=key.rsplit(":", 1)[0], version=1, kind=kind,
                                        description=f"Example 365 E3 {key}", period_from=dt.date(2026, 5, 1),
                                        period_to=dt.date(2026, 5, 31), quantity=quantity, unit_price=price,
                                        amount=amount, unrounded=quantity * price, currency="EUR",
                                        vat_rate=Decimal(rate), vat_category="S", lineage={}))
            net = sum(taxable.values(), Decimal(0))
            vat = sum((vat_amount(amount, rate, "EUR") for rate, amount in taxable.items()), Decimal(0))
            invoices.append(Invoice(batch_id=batch.id, tenant_id=tenant_row.id, customer_id=customer.id,
                                    invoice_key=f"{tenant}:{month}:{reference}", currency="EUR", net=net, vat=vat,
                                    gross=net + vat, vat_breakdown=[], status="draft", lines=rows))
            session.add(invoices[-1])
            numbers.append(number)
        session.flush()
        for invoice, number in zip(invoices, numbers, strict=True):
            invoice.number, invoice.issue_date, invoice.status = number, dt.date(2026, 6, 1), status
        batch.status, batch.approved_by, batch.approved_at = status, "anna", NOW
    return numbers


def assert_exactly_once(soap: Soap, settings: Settings, numbers: list[str]) -> None:
    """Each invoice is in the ERP once, with our customer, lines (by key), quantities, prices and totals."""
    with UnitOfWork(engine_for(settings)) as uow:
        invoices = {i.number: i for i in uow.session.scalars(select(Invoice).where(Invoice.number.in_(numbers)))}
        customers = {c.id: c.reference for c in uow.session.scalars(select(Customer))}
        expected = {n: (customers[i.customer_id],
                        sorted((line_reference(ln.line_key), ln.quantity, ln.unit_price) for ln in i.lines),
                        (i.net, i.vat, i.gross)) for n, i in invoices.items()}
    for number in numbers:
        found = soap.documents(erp_reference("nl-bv", number))
        assert len(found) == 1, f"{len(found)} copies of {number} in the ERP"
        doc = found[0]
        customer, lines, totals = expected[number]
        assert doc["Sell_to_Customer_No"] == customer
        assert sorted((ln["Description_2"], Decimal(str(ln["Quantity"])), Decimal(str(ln["Unit_Price"])))
                      for ln in doc["lines"]) == lines
        first = doc["lines"][0]
        assert tuple(Decimal(str(first[name])) for name in
                     ("Total_Amount_Excl_VAT", "Total_VAT_Amount", "Total_Amount_Incl_VAT")) == totals


def exports(settings: Settings) -> list[Export]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(Export).order_by(Export.id)))


def statuses(settings: Settings) -> dict[str, str]:
    with UnitOfWork(engine_for(settings)) as uow:
        return {i.number: i.status for i in uow.session.scalars(select(Invoice))}


def run(settings: Settings, user: str = "finn", **options: Any) -> list[ExportOutcome]:
    options.setdefault("policy", FAST)
    options.setdefault("clock", FixedClock(NOW))
    summaries = export_invoices(settings, actor(settings, user), "nl-bv", **options)
    return [outcome for summary in summaries for outcome in summary.outcomes]


# ---------------------------------------------------------------------------------------------------------------
# Behaviour


def test_every_approved_invoice_is_created_once_and_a_rerun_sends_nothing(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl)
    [summary] = export_invoices(nl, actor(nl, "finn"), "nl-bv", clock=FixedClock(NOW), policy=FAST)
    outcomes = summary.outcomes
    assert summary.queued == 3 and summary.stopped is None
    assert [(o.invoice_number, o.action) for o in outcomes] == [(n, "created") for n in numbers]
    assert_exactly_once(soap, nl, numbers)
    rows = exports(nl)
    assert [(r.status, r.attempts, r.external_ref) for r in rows] == \
        [("sent", 1, erp_reference("nl-bv", n)) for n in numbers]
    assert all(r.erp_document_id and r.erp_totals and r.payload_hash and r.sent_at for r in rows)
    assert set(statuses(nl).values()) == {"exported"}
    with UnitOfWork(engine_for(nl)) as uow:
        assert uow.session.scalar(select(Batch.status)) == "exported"
        assert len(uow.audit.list(action="export.sent")) == 3

    assert run(nl) == []
    assert_exactly_once(soap, nl, numbers)


def test_only_approved_invoices_are_exported(nl: Settings, soap: Soap) -> None:
    seed_invoices(nl, month="2026-04", status="draft")
    assert run(nl) == []
    assert soap.state()["invoices"] == []


FAULTS = {
    # the first POST of each invoice is ReadMultiple (the look-up), the second the Create
    "429 on create": {"kind": "status", "status": 429, "after": 1, "body": "<html>Too many requests</html>"},
    "503 with retry-after on look-up": {"kind": "status", "status": 503, "headers": {"Retry-After": "0"}},
    "500 twice": {"kind": "status", "status": 500, "times": 2, "body": "<html>oops</html>"},
    "connection dropped before the create is applied": {"kind": "drop", "after": 1},
    "create applied, answer lost": {"kind": "apply_then_drop", "after": 1},
    "create slower than the operation timeout": {"kind": "delay", "seconds": 0.8, "after": 1},
    "second invoice's create applied, answer lost": {"kind": "apply_then_drop", "after": 3},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_erp_faults_never_duplicate(nl: Settings, soap: Soap, fault: dict[str, Any]) -> None:
    numbers = seed_invoices(nl)
    soap.app.faults.arm(SOAP, **fault)
    outcomes = run(nl, targets=short_timeouts)
    assert {o.action for o in outcomes} <= {"created", "skipped", "adopted"}
    assert_exactly_once(soap, nl, numbers)
    assert run(nl, targets=short_timeouts) == []
    assert_exactly_once(soap, nl, numbers)


def test_erp_down_leaves_the_rest_exported_and_the_failed_queued_with_backoff(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl)
    # invoice 1 passes (2 calls); every call of invoice 2 gets 503 for the whole in-run retry budget
    soap.app.faults.arm(SOAP, kind="status", status=503, after=2, times=FAST.attempts,
                        headers={"Retry-After": "0"})
    clock = FixedClock(NOW)
    outcomes = run(nl, clock=clock)
    assert [o.action for o in outcomes] == ["created", "queued", "created"]
    assert "HTTP 503" in (outcomes[1].error or "")
    rows = exports(nl)
    assert [r.status for r in rows] == ["sent", "queued", "sent"]
    assert rows[1].last_error and rows[1].next_attempt_at == NOW + dt.timedelta(minutes=2)
    assert statuses(nl) == {numbers[0]: "exported", numbers[1]: "approved", numbers[2]: "exported"}

    assert retry_due_exports(nl, clock, policy=FAST) == {}  # backoff not over yet
    clock.advance(minutes=3)
    assert retry_due_exports(nl, clock, policy=FAST) == {"created": 1}
    assert_exactly_once(soap, nl, numbers)
    with UnitOfWork(engine_for(nl)) as uow:
        assert uow.session.scalar(select(Batch.status)) == "exported"


class Crash(Exception):
    pass


def test_crash_after_the_erp_answered_before_our_commit_is_resolved_by_lookup(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl)

    def crash_on_second(outcome: ExportOutcome) -> None:
        if outcome.invoice_number == numbers[1]:
            raise Crash("process died after the ERP created the document")

    with pytest.raises(Crash):
        run(nl, after_send=crash_on_second)
    rows = exports(nl)
    assert [r.status for r in rows] == ["sent", "sending", "queued"]
    assert len(soap.documents(erp_reference("nl-bv", numbers[1]))) == 1

    outcomes = run(nl)
    assert [(o.invoice_number, o.action) for o in outcomes] == [(numbers[1], "adopted"), (numbers[2], "created")]
    assert_exactly_once(soap, nl, numbers)
    assert [r.status for r in exports(nl)] == ["sent", "sent", "sent"]


def test_the_scheduler_job_resolves_a_send_interrupted_by_a_crash(nl: Settings, soap: Soap) -> None:
    [number] = seed_invoices(nl, count=1)

    def crash(outcome: ExportOutcome) -> None:
        raise Crash("process died after the ERP created the document")

    with pytest.raises(Crash):
        run(nl, after_send=crash)
    assert [r.status for r in exports(nl)] == ["sending"]
    assert retry_due_exports(nl, FixedClock(NOW), policy=FAST) == {"adopted": 1}
    assert_exactly_once(soap, nl, [number])
    assert retry_due_exports(nl, FixedClock(NOW), policy=FAST) == {}


def test_crash_between_queueing_and_sending_sends_once_on_rerun(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl, count=2)
    # the ERP is unreachable for the whole first run: rows stay queued, nothing was created
    soap.app.faults.arm(SOAP, kind="drop", times=-1)
    outcomes = run(nl)
    assert [o.action for o in outcomes] == ["queued", "queued"]
    soap.app.faults.clear()
    assert [o.action for o in run(nl)] == ["created", "created"]
    assert_exactly_once(soap, nl, numbers)


def test_a_run_stops_calling_an_erp_that_is_down_and_leaves_the_rest_queued(nl: Settings, soap: Soap) -> None:
    seed_invoices(nl, count=5)
    soap.app.faults.arm(SOAP, kind="status", status=503, times=-1, headers={"Retry-After": "0"})
    [summary] = export_invoices(nl, actor(nl, "finn"), "nl-bv", clock=FixedClock(NOW), policy=FAST)
    assert [o.action for o in summary.outcomes] == ["queued"] * 3
    assert summary.stopped and "3 failures in a row" in summary.stopped
    assert [(r.status, r.attempts) for r in exports(nl)] == [("queued", 1)] * 3 + [("queued", 0)] * 2
    soap.app.faults.clear()
    assert [o.action for o in run(nl)] == ["created"] * 5


def test_two_runs_at_once_send_each_invoice_once(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl, count=4)
    soap.app.faults.arm(SOAP, kind="delay", seconds=0.3, times=-1)  # keep both runs in flight together
    results: list[list[ExportOutcome]] = []
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            results.append(run(nl))
        except BaseException as exc:  # surfaced by the assertion below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 2
    actions = sorted(o.action for outcomes in results for o in outcomes)
    assert actions.count("created") == 4 and set(actions) <= {"created", "busy", "skipped"}
    assert_exactly_once(soap, nl, numbers)


def test_permanent_rejection_fails_only_that_invoice_and_retry_export_sends_it(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl, customers=["C00001", "C99999", "C00003"])
    outcomes = run(nl)
    assert [o.action for o in outcomes] == ["created", "failed", "created"]
    assert "The Customer does not exist" in (outcomes[1].error or "")
    failed = exports(nl)[1]
    assert failed.status == "failed" and failed.next_attempt_at is None
    assert run(nl) == []  # a failed row waits for a person
    with UnitOfWork(engine_for(nl), write=True) as uow:
        uow.session.scalar(select(Customer).where(Customer.reference == "C99999")).reference = "C00002"
    outcome = retry_export(nl, actor(nl, "finn"), failed.id, clock=FixedClock(NOW), policy=FAST)
    assert outcome.action == "created"
    assert_exactly_once(soap, nl, numbers)
    with pytest.raises(ValidationFailed, match=f"export {failed.id}: status is 'sent'"):
        retry_export(nl, actor(nl, "finn"), failed.id, policy=FAST)


def test_retry_failed_flag_retries_failed_rows(nl: Settings, soap: Soap, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = seed_invoices(nl, count=1)
    monkeypatch.setenv("CSPBILL_BC_SOAP_KEY", "wrong-key")
    outcomes = run(nl)
    assert outcomes[0].action == "failed" and "credentials" in (outcomes[0].error or "")
    monkeypatch.setenv("CSPBILL_BC_SOAP_KEY", bc_sandbox.CREDENTIALS["password"])
    assert run(nl) == []
    assert [o.action for o in run(nl, retry_failed=True)] == ["created"]
    assert_exactly_once(soap, nl, numbers)


def test_erp_totals_that_differ_from_ours_are_an_export_error(settings: Settings, soap: Soap, soap_env: None,
                                                              tmp_path: Path) -> None:
    # a bookkeeper's slip: the 9% key mapped to BC's 21% VAT group, so BC computes other VAT than the invoice states
    nl = soap_settings(settings, soap, tmp_path, vat_codes={"S 21": "STANDARD", "S 9": "STANDARD"})
    initialise(nl)
    numbers = seed_invoices(nl, count=1, rates=("21", "9"))
    outcomes = run(nl)
    assert outcomes[0].action == "failed"
    assert "ERP totals differ: total_vat" in (outcomes[0].error or "")
    row = exports(nl)[0]
    assert row.status == "failed" and row.erp_document_id and row.erp_totals
    assert statuses(nl) == {numbers[0]: "approved"}
    assert len(soap.documents(erp_reference("nl-bv", numbers[0]))) == 1


def test_dry_run_changes_nothing_in_the_erp_or_the_ledger(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl)
    with UnitOfWork(engine_for(nl)) as uow:
        audit_before = len(uow.audit.list())
    outcomes = run(nl, dry_run=True)
    assert [(o.invoice_number, o.action) for o in outcomes] == [(n, "would-create") for n in numbers]
    assert soap.state() == {"invoices": [], "posted": [], "credit_memos": [], "posted_credit_memos": []}
    assert exports(nl) == []
    assert set(statuses(nl).values()) == {"approved"}
    with UnitOfWork(engine_for(nl)) as uow:
        assert len(uow.audit.list()) == audit_before

    run(nl)
    assert run(nl, dry_run=True) == []


def test_status_view_and_access_rules(nl: Settings, soap: Soap) -> None:
    numbers = seed_invoices(nl, count=2)
    before = export_status(nl, actor(nl, "anna"), "nl-bv", MONTH)
    assert [(r.invoice_number, r.status) for r in before] == [(n, None) for n in numbers]
    run(nl)
    after = export_status(nl, actor(nl, "finn"), "nl-bv", MONTH)
    assert [(r.invoice_number, r.status, r.invoice_status, r.erp_status) for r in after] == \
        [(n, "sent", "exported", "draft") for n in numbers]
    with pytest.raises(NotAllowed):
        export_invoices(nl, actor(nl, "dana"), "nl-bv")
    with pytest.raises(NotFound):
        export_invoices(nl, actor(nl, "greta"), "nl-bv")
    with pytest.raises(NotFound):
        retry_export(nl, actor(nl, "greta"), after[0].export_id or 0)
    with pytest.raises(NotFound):
        export_status(nl, actor(nl, "finn"), "nl-bv", "2030-01")
