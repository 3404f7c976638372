"""Uncertain sends and the duplicate sweep against the BC SOAP, BC REST and Exact Online sandboxes over loopback.

A create the ERP completes after the client gave up (BC runs a request to its operation timeout, 8 minutes, hard cap
10 minutes: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-current-limits
and https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online),
a connection dropped after the write was committed, and a row left ``sending`` by a killed run: every invoice ends
up in the ERP exactly once (asserted on the sandbox's stored documents per external reference). Client timeouts and
the ERP's longest request come from config (``erp.read_timeout_seconds``, ``erp.longest_request_seconds``), short
here so the tests take seconds. The sweep finds a duplicate created directly in the sandbox, deletes an extra draft
(BC: ``DELETE salesInvoices({id})``,
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salesinvoice_delete)
and only reports a posted one, which the finance page shows with both ERP ids.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select, update

from config import Settings
from config.loader import parse_settings
from erp_export.base import ErpRejected, RetryPolicy
from erp_export.bc_rest import BcRestExporter
from erp_export.bc_soap import BcSoapExporter
from erp_export.exact_online import ExactOnlineExporter
from ledger.models import AuditEvent, Export, Invoice
from sandbox import bc_rest as bc_rest_sandbox
from sandbox import bc_soap as bc_soap_sandbox
from sandbox import entra
from sandbox import exact_online as exact_sandbox
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxApp, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.clock import FixedClock
from services.export import ExportOutcome, erp_reference, erp_target, export_invoices, sweep_duplicates
from services.export.documents import invoice_customer, invoice_document
from services.export.targets import LONGEST_REQUEST
from services.operations import execute, initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.export.test_export_outbox import NOW, seed_invoices
from tests.web.conftest import signed_in

POLICY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.2, settle=0.3)
READ_TIMEOUT = 0.5  # the client gives up on an answer after this long
SLOW = 1.5  # the sandbox holds a slow create this long, then applies it
LONGEST = 6.0  # the ERP's longest request here: long enough that a loaded machine looks up again within it


@dataclass
class Erp:
    """One ERP sandbox and the legal entity exporting to it."""

    kind: str
    app: SandboxApp
    server: SandboxServer
    settings: Settings
    tenant: str
    user: str
    create_route: str  # the create request, for the sandbox's fault knobs
    creates_after: int  # matching requests that pass before the first create (SOAP: the look-up is a POST too)
    state_url: str
    verify: bool | str

    def copies(self, ref: str) -> list[dict[str, Any]]:
        """Our documents in the sandbox's store with this external reference (drafts and posted)."""
        state = json.loads(requests.get(self.state_url, verify=self.verify, timeout=5).text, parse_float=Decimal)
        if self.kind == "bc_soap":
            return [d for d in state["invoices"] + state["posted"] if d["External_Document_No"] == ref]
        if self.kind == "bc_rest":
            return [d for d in state["invoices"] if d["externalDocumentNumber"] == ref]
        return [d for d in state["entries"] if d.get("YourRef") == ref]

    def seed(self) -> list[str]:
        if self.kind == "bc_rest":
            return seed_invoices(self.settings, tenant=self.tenant, count=2, rates=("19",),
                                 customers=["C00011", "C00012"])
        if self.kind == "bc_soap":
            return seed_invoices(self.settings, count=2)
        return seed_invoices(self.settings, count=2, rates=("21", "9"), prices=("31.20", "10.50"))

    def run(self, **options: Any) -> list[ExportOutcome]:
        summaries = export_invoices(self.settings, actor(self.settings, self.user), self.tenant,
                                    clock=FixedClock(NOW), policy=POLICY, **options)
        return [outcome for summary in summaries for outcome in summary.outcomes]

    def arm(self, kind: str, **options: Any) -> None:
        self.app.faults.arm(self.create_route, kind, after=self.creates_after, **options)

    def ref(self, number: str) -> str:
        return erp_reference(self.tenant, number)

    def assert_once(self, numbers: list[str]) -> None:
        for number in numbers:
            assert len(self.copies(self.ref(number))) == 1, f"{number}: not exactly once in {self.kind}"

    def create_directly(self, number: str) -> Any:
        """A second copy of an invoice, written straight into the ERP (as a late write or a person would)."""
        target = erp_target(self.settings, self.settings.tenant(self.tenant))
        with UnitOfWork(engine_for(self.settings)) as uow:
            invoice = uow.session.scalar(select(Invoice).where(Invoice.number == number))
            assert invoice is not None
            doc = invoice_document(self.settings.tenant(self.tenant), invoice, invoice_customer(uow, invoice),
                                   uow.exports.batch(invoice.batch_id), target.revenue_account)
        return target.exporter, target.exporter.create(doc)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _config(base: Settings, tenant: str, erp: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The demo config on this test's database, ``tenant`` exporting to a sandbox with short timeouts."""
    data = demo_config_data()
    data["database"] = {"url": base.database_url(), "url_env": None}
    entry = next(t for t in data["tenants"] if t["code"] == tenant)
    entry.update(extra)
    entry["erp"] = {**entry["erp"], **erp, "read_timeout_seconds": READ_TIMEOUT, "longest_request_seconds": LONGEST}
    return data


def _soap(base: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: TlsFiles) -> Iterator[Erp]:
    monkeypatch.setenv("CSPBILL_BC_SOAP_USER", bc_soap_sandbox.CREDENTIALS["username"])
    monkeypatch.setenv("CSPBILL_BC_SOAP_KEY", bc_soap_sandbox.CREDENTIALS["password"])
    app = bc_soap_sandbox.build(SandboxClock(), seed=1)
    with SandboxServer(app, prefix=bc_soap_sandbox.PREFIX) as server:
        url = f"{server.url}{bc_soap_sandbox.PREFIX}/WS/{quote(bc_soap_sandbox.COMPANY)}/Page/SalesInvoice"
        data = _config(base, "nl-bv", {
            "kind": "bc_soap", "base_url": url, "company": bc_soap_sandbox.COMPANY, "auth": "basic",
            "username_env": "CSPBILL_BC_SOAP_USER", "password_env": "CSPBILL_BC_SOAP_KEY",
            "vat_codes": None})  # nl-bv's Exact VAT codes give way to BC's groups named after its vat_rates
        settings = parse_settings(data, tmp_path / "config.yaml")
        initialise(settings)
        yield Erp("bc_soap", app, server, settings, "nl-bv", "finn", "POST /WS/.*", 1,
                  f"{server.url}{bc_soap_sandbox.PREFIX}/__admin/state", True)


def _bc_rest(base: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: TlsFiles) -> Iterator[Erp]:
    monkeypatch.setenv("CSPBILL_BC_CLIENT_ID", entra.CREDENTIALS["client_id"])
    monkeypatch.setenv("CSPBILL_BC_CLIENT_SECRET", entra.CREDENTIALS["client_secret"])
    clock = SandboxClock()
    app = bc_rest_sandbox.build(clock, seed=1)
    with SandboxServer(entra.build(clock), tls=tls, prefix=entra.PREFIX) as entra_server, \
            SandboxServer(app, tls=tls, prefix=bc_rest_sandbox.PREFIX) as server:
        api = f"{server.url}{bc_rest_sandbox.PREFIX}/{entra.TENANT_ID}/{bc_rest_sandbox.ENVIRONMENT}/api/v2.0"
        data = _config(base, "de-gmbh", {
            "base_url": api, "company": bc_rest_sandbox.COMPANY_NAME, "ca_bundle": str(tls.ca_cert)},
            vat_rates={"de19": "19", "zero": "0"}, default_vat_rate="de19")
        for source in data["sources"]:
            if source["kind"] in ("partner_center", "azure_costs"):
                source["authority_url"] = f"{entra_server.url}/{entra.TENANT_ID}"
        settings = parse_settings(data, tmp_path / "config.yaml")
        initialise(settings)
        yield Erp("bc_rest", app, server, settings, "de-gmbh", "greta",
                  r"POST /[^/]+/[^/]+/api/v2\.0/companies\([0-9a-f-]+\)/salesInvoices", 0,
                  f"{server.url}{bc_rest_sandbox.PREFIX}/__admin/state", str(tls.ca_cert))


def _exact(base: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: TlsFiles) -> Iterator[Erp]:
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_ID", exact_sandbox.CREDENTIALS["client_id"])
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_SECRET", exact_sandbox.CREDENTIALS["client_secret"])
    app = exact_sandbox.build(SandboxClock(), seed=3)
    with SandboxServer(app, tls=tls, prefix=exact_sandbox.PREFIX) as server:
        data = _config(base, "nl-bv", {
            "kind": "exact_online", "base_url": server.url, "client_id_env": "CSPBILL_EXACT_CLIENT_ID",
            "client_secret_env": "CSPBILL_EXACT_CLIENT_SECRET", "token_store": "var/exact-tokens.json",
            "ca_bundle": str(tls.ca_cert), "vat_codes": None})  # nl-bv's BC groups give way to Exact's standard codes
        settings = parse_settings(data, tmp_path / "config.yaml")
        initialise(settings)
        exporter = erp_target(settings, settings.tenant("nl-bv")).exporter
        assert isinstance(exporter, ExactOnlineExporter)
        exporter.authorise(exact_sandbox.CREDENTIALS["authorization_code"], exact_sandbox.CREDENTIALS["redirect_uri"])
        yield Erp("exact_online", app, server, settings, "nl-bv", "finn", r"POST /api/v1/\d+/salesentry/SalesEntries",
                  0, f"{server.url}/__admin/state", str(tls.ca_cert))


STARTERS: dict[str, Callable[..., Iterator[Erp]]] = {"bc_soap": _soap, "bc_rest": _bc_rest, "exact_online": _exact}


@pytest.fixture(params=list(STARTERS))
def erp(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        tls: TlsFiles) -> Iterator[Erp]:
    yield from STARTERS[request.param](settings, tmp_path, monkeypatch, tls)


def rows(erp: Erp) -> list[Export]:
    with UnitOfWork(engine_for(erp.settings)) as uow:
        return list(uow.session.scalars(select(Export).order_by(Export.id)))


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------------------


def test_config_sets_the_read_timeout_and_the_longest_request_per_erp(erp: Erp) -> None:
    target = erp_target(erp.settings, erp.settings.tenant(erp.tenant))
    exporter = target.exporter
    timeout = exporter.config.operation_timeout if isinstance(exporter, BcSoapExporter) else exporter.config.timeout
    assert (timeout, target.longest_request) == (READ_TIMEOUT, LONGEST)
    bare = erp.settings.tenant(erp.tenant).erp.model_copy(update={"read_timeout_seconds": None,
                                                                    "longest_request_seconds": None})
    tenant = erp.settings.tenant(erp.tenant).model_copy(update={"erp": bare})
    default = erp_target(erp.settings, tenant)
    assert default.longest_request == LONGEST_REQUEST[erp.kind] >= 600.0
    assert isinstance(default.exporter, BcSoapExporter | BcRestExporter | ExactOnlineExporter)


@pytest.mark.slow
def test_a_create_that_lands_after_the_client_timeout_is_adopted_never_created_twice(erp: Erp) -> None:
    numbers = erp.seed()
    erp.arm("delay", seconds=SLOW)
    first = erp.run()
    assert [o.action for o in first] == ["uncertain", "created"], first
    assert [r.status for r in rows(erp)] == ["uncertain", "sent"]
    dry = erp.run(dry_run=True)
    assert [o.action for o in dry] == ["uncertain"]  # never "nothing to do" while the outcome is unknown
    wait_for(lambda: len(erp.copies(erp.ref(numbers[0]))) == 1)  # the ERP completed the write after all
    second = erp.run()
    assert [(o.invoice_number, o.action) for o in second] == [(numbers[0], "adopted")]
    erp.assert_once(numbers)
    assert {r.status for r in rows(erp)} == {"sent"} and erp.run() == []
    erp.assert_once(numbers)


@pytest.mark.slow
def test_a_write_lost_before_the_erp_saw_it_is_created_again_only_after_the_longest_request(erp: Erp) -> None:
    numbers = erp.seed()
    erp.arm("drop")  # no answer: to the client exactly like a write that is still running
    assert [o.action for o in erp.run()] == ["uncertain", "created"]
    assert erp.copies(erp.ref(numbers[0])) == []
    assert [o.action for o in erp.run()] == ["uncertain"]  # looked up again, nothing created before the bound
    assert erp.copies(erp.ref(numbers[0])) == []
    since = rows(erp)[0].uncertain_since
    assert since is not None
    wait_for(lambda: dt.datetime.now(dt.UTC) > since + dt.timedelta(seconds=LONGEST + 0.05))
    assert [o.action for o in erp.run()] == ["created"]
    erp.assert_once(numbers)


@pytest.mark.parametrize("knob", ["apply_then_drop", "answer_late"])
def test_a_write_committed_before_its_answer_was_lost_is_adopted_in_the_same_run(erp: Erp, knob: str) -> None:
    numbers = erp.seed()
    erp.arm(knob, seconds=SLOW)
    assert [o.action for o in erp.run()] == ["adopted", "created"]
    erp.assert_once(numbers)
    assert {r.status for r in rows(erp)} == {"sent"}


def test_a_row_left_sending_by_a_killed_run_is_uncertain_and_resolved_by_look_up(erp: Erp) -> None:
    numbers = erp.seed()
    erp.app.faults.arm("*", "drop", times=-1)  # the ERP is unreachable: the rows are queued, nothing sent
    assert [o.action for o in erp.run()] == ["queued", "queued"]
    erp.app.faults.clear()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process that claimed the first row and was killed mid-send
    with UnitOfWork(engine_for(erp.settings), write=True) as uow:
        uow.session.execute(update(Export).where(Export.id == rows(erp)[0].id).values(
            status="sending", claimed_by=f"{socket.gethostname()}:{dead.pid}:x", claimed_at=NOW))
    assert [o.action for o in erp.run(dry_run=True)] == ["uncertain", "would-create"]
    assert [o.action for o in erp.run()] == ["uncertain", "created"]  # its write may be in flight: no create
    assert rows(erp)[0].status == "uncertain" and erp.copies(erp.ref(numbers[0])) == []
    erp.create_directly(numbers[0])  # the killed run's write lands
    assert [o.action for o in erp.run()] == ["adopted"]
    erp.assert_once(numbers)


def test_the_sweep_removes_an_extra_draft_and_keeps_the_ledger_s_copy(erp: Erp) -> None:
    numbers = erp.seed()
    assert [o.action for o in erp.run()] == ["created", "created"]
    recorded = rows(erp)[0].erp_document_id
    _, extra = erp.create_directly(numbers[0])
    assert len(erp.copies(erp.ref(numbers[0]))) == 2
    [summary] = sweep_duplicates(erp.settings, actor(erp.settings, erp.user), erp.tenant, clock=FixedClock(NOW))
    assert summary.counts() == {"checked": 2, "duplicates": 1, "removed": 1, "reported": 0, "errors": 0}
    [finding] = summary.findings
    assert {(d["erp_id"], d["outcome"]) for d in finding.documents} == {(recorded, "kept"), (extra.erp_id, "removed")}
    assert finding.status == "resolved"
    erp.assert_once(numbers)
    with UnitOfWork(engine_for(erp.settings)) as uow:
        removed = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.duplicate_removed")).all()
        assert [event.before["erp_id"] for event in removed] == [extra.erp_id]  # type: ignore[index]
    assert execute(erp.settings, "duplicate-sweep", FixedClock(NOW)) == "succeeded"


def test_a_posted_duplicate_is_reported_on_the_finance_page_with_both_erp_ids(erp: Erp) -> None:
    if erp.kind != "bc_rest":
        pytest.skip("posting a second copy by API: BC REST (de-gmbh posts its invoices)")
    numbers = erp.seed()
    erp.run()
    exporter, extra = erp.create_directly(numbers[0])
    with pytest.raises(ErpRejected, match="2 salesInvoices carry"):  # posted; its read-back finds both copies
        exporter.post(extra)
    summaries = export_invoices(erp.settings, actor(erp.settings, erp.user), erp.tenant, clock=FixedClock(NOW),
                                policy=POLICY)  # the sweep after every export run
    sweep = summaries[0].sweep
    assert sweep is not None and sweep.counts()["reported"] == 1
    [finding] = sweep.findings
    assert finding.status == "open" and len(erp.copies(erp.ref(numbers[0]))) == 2
    page = signed_in(erp.settings, erp.user).get("/batches").text
    assert "Duplicates in the ERP" in page and erp.ref(numbers[0]) in page
    for doc in finding.documents:
        assert doc["erp_id"] in page
