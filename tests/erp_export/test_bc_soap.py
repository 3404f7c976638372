"""The zeep SOAP exporter against the BC page sandbox: exactly once under every fault, partial drafts, Keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import zeep.exceptions

from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpExporter,
    ErpOutcomeUnknown,
    ErpRejected,
    RetryPolicy,
    export_document,
)
from erp_export.bc_soap import BcSoapConfig, BcSoapExporter
from erp_export.bc_soap_codeunit import PostCodeunit
from erp_export.documents import InvoiceDocument
from sandbox import bc_soap as sandbox
from sandbox import entra
from sandbox.core import Clock, SandboxApp, SandboxServer
from sandbox.tls import TlsFiles
from tests.erp_export.conftest import serve
from tests.erp_export.samples import VAT_GROUPS, invoice, line

POSTING = PostCodeunit(sandbox.POSTING.service, sandbox.POSTING.post, sandbox.POSTING.find_posted)
FAST = RetryPolicy(attempts=6, base_delay=0.05, max_delay=2.0, settle=1.5)
SOAP = "POST /WS/.*"


@pytest.fixture
def soap(clock: Clock, state_dir: Path) -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = sandbox.build(clock, seed=1, state_dir=state_dir)
    yield from ((app, server) for server in serve(app, sandbox.PREFIX))


def config(server: SandboxServer, **overrides: Any) -> BcSoapConfig:
    base = BcSoapConfig(
        service_url=f"{server.url}{sandbox.PREFIX}/WS/{quote(sandbox.COMPANY)}/Page/SalesInvoice",
        username=sandbox.CREDENTIALS["username"], password=sandbox.CREDENTIALS["password"],
        vat_groups=VAT_GROUPS, local_currency="EUR", operation_timeout=1.0,
    )
    return replace(base, **overrides)


def erp_state(server: SandboxServer) -> dict[str, Any]:
    return json.loads(requests.get(f"{server.url}{sandbox.PREFIX}/__admin/state", timeout=5).text,
                      parse_float=Decimal)


def assert_once_and_right(server: SandboxServer, doc: InvoiceDocument, store: str = "invoices") -> None:
    found = [inv for inv in erp_state(server)[store] if inv["External_Document_No"] == doc.external_ref]
    assert len(found) == 1, f"{len(found)} copies of {doc.external_ref}"
    erp = found[0]
    assert erp["Sell_to_Customer_No"] == doc.buyer.erp_customer_number
    assert sorted((ln["Description_2"], Decimal(ln["Quantity"]), Decimal(ln["Unit_Price"])) for ln in erp["lines"]) \
        == sorted((ln.ref(), ln.quantity, ln.unit_price) for ln in doc.lines)
    first = erp["lines"][0]
    totals = (first["Total_Amount_Excl_VAT"], first["Total_VAT_Amount"], first["Total_Amount_Incl_VAT"])
    assert tuple(Decimal(str(v)) for v in totals) == (doc.total_net, doc.total_vat, doc.total_gross)


FAULTS = {
    # name: (fault options; the first POST of an export is ReadMultiple, the second the Create)
    "429 html on create": {"kind": "status", "status": 429, "after": 1,
                           "body": "<html><body>Too many requests</body></html>"},
    "503 retry-after on lookup": {"kind": "status", "status": 503, "headers": {"Retry-After": "1"}},
    "500 on lookup twice": {"kind": "status", "status": 500, "times": 2, "body": "<html>oops</html>"},
    "unreadable 200 on create": {"kind": "status", "status": 200, "after": 1, "body": "<<not soap"},
    "dropped before apply": {"kind": "drop", "after": 1},
    "applied then dropped": {"kind": "apply_then_drop", "after": 1},
    "slow create beyond operation_timeout": {"kind": "delay", "seconds": 1.5, "after": 1},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_every_invoice_lands_exactly_once_under_faults(soap: tuple[SandboxApp, SandboxServer],
                                                        fault: dict[str, Any]) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server))
    doc = invoice(1)
    app.faults.arm(SOAP, **fault)
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.external_ref == doc.external_ref
    assert result.ref.totals_differ(doc) == []
    assert_once_and_right(server, doc)
    again = export_document(exporter, doc, policy=FAST)
    assert again.action == "skipped" and again.ref.erp_id == result.ref.erp_id
    assert_once_and_right(server, doc)


def test_wsdl_names_another_host_and_the_configured_address_is_used(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    assert sandbox.WRONG_ADDRESS in sandbox.wsdl()
    exporter = BcSoapExporter(config(server))
    assert exporter.find("CSP-NOT-THERE") is None


def test_multi_step_create_crash_leaves_a_partial_draft_that_is_completed(
        soap: tuple[SandboxApp, SandboxServer]) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server, one_shot_create=False))
    doc = invoice(2)
    # ReadMultiple, Create (empty header) pass; the first Read of the update is refused, so the attempt dies
    # with a header and no lines in BC.
    app.faults.arm(SOAP, kind="status", status=503, after=2, headers={"Retry-After": "0"})
    result = export_document(exporter, doc, policy=FAST)
    assert result.action == "updated"
    assert_once_and_right(server, doc)


def test_changed_draft_is_updated_line_by_line_and_plan_says_so(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server))
    first = invoice(3)
    export_document(exporter, first, policy=FAST)
    changed = invoice(3, lines=(line(1, "26", "31.20"), line(3, "1", "412.37", rate="9"), line(4, "2", "5.00")))
    assert exporter.plan(changed) == "update"
    result = export_document(exporter, changed, policy=FAST)
    assert result.action == "updated"
    assert_once_and_right(server, changed)
    assert exporter.plan(changed) == "skip"


def test_plan_is_a_dry_run(soap: tuple[SandboxApp, SandboxServer]) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server))
    before = erp_state(server)
    calls = len(app.calls)
    assert exporter.plan(invoice(4)) == "create"
    assert isinstance(exporter, ErpExporter)
    assert erp_state(server) == before
    assert all(method in ("GET", "POST") for method, _ in app.calls[calls:])


def test_stale_key_is_reread_and_reapplied(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server))
    doc = invoice(5)
    created = exporter.create(doc)
    exporter.update(created, invoice(5, lines=(*doc.lines, line(9, "1", "1.00"))))  # bumps the Key
    changed = invoice(5, lines=(*doc.lines, line(9, "2", "1.00")))
    result = export_document(exporter, changed, policy=FAST)
    assert result.action == "updated"
    assert_once_and_right(server, changed)


def test_unknown_customer_is_rejected_with_the_erp_message(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    with pytest.raises(ErpRejected, match="The Customer does not exist") as caught:
        export_document(BcSoapExporter(config(server)), invoice(6, customer="C99999"), policy=FAST)
    assert caught.value.code == "NavCSideRecordNotFoundException"
    assert erp_state(server)["invoices"] == []


def test_wrong_key_is_an_authentication_failure(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    with pytest.raises(ErpAuthenticationFailed):
        BcSoapExporter(config(server, password="wrong")).find("CSP-X")


def test_post_survives_a_lost_answer_and_happens_once(soap: tuple[SandboxApp, SandboxServer]) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server, post_codeunit=POSTING))
    doc = invoice(8)
    export_document(exporter, doc, policy=FAST)
    # ReadMultiple finds the draft, the codeunit's post is applied and its answer lost; the retry finds it posted.
    app.faults.arm(SOAP, kind="apply_then_drop", after=1)
    result = export_document(exporter, doc, post=True, policy=FAST)
    assert result.ref.status == "posted"
    assert_once_and_right(server, doc, store="posted")
    assert erp_state(server)["invoices"] == []
    assert export_document(exporter, doc, post=True, policy=FAST).action == "skipped"


def test_state_survives_a_restart(soap: tuple[SandboxApp, SandboxServer], clock: Clock, state_dir: Path) -> None:
    _, server = soap
    doc = invoice(9)
    export_document(BcSoapExporter(config(server)), doc, policy=FAST)
    reborn = sandbox.build(clock, seed=1, state_dir=state_dir)
    for second in serve(reborn, sandbox.PREFIX):
        assert export_document(BcSoapExporter(config(second)), doc, policy=FAST).action == "skipped"
        assert_once_and_right(second, doc)


def test_bc_online_bearer_token_from_entra_and_renewal_after_401(soap: tuple[SandboxApp, SandboxServer],
                                                                  tls_files: TlsFiles) -> None:
    app, server = soap
    for entra_server in serve(entra.build(app.clock), entra.PREFIX, tls_files):
        tokens = TokenProvider("bc_soap", f"{entra_server.url}/{entra.TENANT_ID}", entra.CREDENTIALS["client_id"],
                               entra.CREDENTIALS["client_secret"], f"{sandbox.AUDIENCE}/.default",
                               policy=HttpPolicy(verify=str(tls_files.ca_cert)))
        exporter = BcSoapExporter(config(server, username=None, password=None), tokens.token,
                                  on_unauthorized=tokens.invalidate)
        app.faults.arm(SOAP, kind="expire_token", after=1)  # the Create meets an "expired" token
        doc = invoice(10)
        assert export_document(exporter, doc, policy=FAST).action == "created"
        assert_once_and_right(server, doc)


def test_create_multiple_is_all_or_nothing(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server))
    good, bad = invoice(11), invoice(12, customer="C99999")
    with pytest.raises(ErpRejected, match="Customer does not exist"):
        exporter.create_many([good, bad])
    assert erp_state(server)["invoices"] == []
    created = exporter.create_many([good, invoice(13)])
    assert [ref.external_ref for ref in created] == [good.external_ref, invoice(13).external_ref]
    assert_once_and_right(server, good)


def test_read_multiple_wildcards_and_bookmark_paging(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server))
    for seq in range(20, 25):
        exporter.create(invoice(seq))
    service = exporter.service()
    criteria = [{"Field": "External_Document_No", "Criteria": "CSP-NL01-202605-002*"}]
    seen, bookmark = [], None
    while True:
        page = service.ReadMultiple(filter=criteria, bookmarkKey=bookmark, setSize=2) or []
        if not page:
            break
        seen += [row.External_Document_No for row in page]
        bookmark = page[-1].Key
    assert seen == [f"CSP-NL01-202605-{seq:04d}" for seq in range(20, 25)]
    assert len(service.ReadMultiple(filter=criteria, setSize=0)) == 5
    assert service.Read(No="SI999999") is None


def test_unknown_outcome_can_be_left_to_the_next_outbox_run(soap: tuple[SandboxApp, SandboxServer]) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server))
    doc = invoice(14)
    app.faults.arm(SOAP, kind="apply_then_drop", after=1)
    with pytest.raises(ErpOutcomeUnknown):
        export_document(exporter, doc, policy=replace(FAST, resolve_unknown_now=False))
    assert export_document(exporter, doc, policy=FAST).action == "skipped"  # the next run finds it: no duplicate
    assert_once_and_right(server, doc)


def test_page_faults_of_the_sandbox(soap: tuple[SandboxApp, SandboxServer]) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server))
    created = exporter.create(invoice(15))
    service = exporter.service()
    with pytest.raises(zeep.exceptions.Fault, match="already exists") as duplicate:
        service.Create(SalesInvoice={"No": created.number})
    assert duplicate.value.code.endswith("NavCSideDuplicateKeyException")
    with pytest.raises(zeep.exceptions.Fault, match="must be less than or equal to 35") as too_long:
        service.Create(SalesInvoice={"External_Document_No": "X" * 36})
    assert too_long.value.code.endswith("NavNCLStringLengthExceededException")
    url = config(server).service_url
    envelope = (f'<s:Envelope xmlns:s="{sandbox.SOAP_ENV}"><s:Body><Read xmlns="{sandbox.NS}"><No>{created.number}'
                f'</No></Read></s:Body></s:Envelope>')
    auth = (sandbox.CREDENTIALS["username"], sandbox.CREDENTIALS["password"])
    wrong_action = requests.post(url, data=envelope, auth=auth, timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{sandbox.NS}:Update"'})
    assert wrong_action.status_code == 500 and b"faultcode" in wrong_action.content
    unauthorised = requests.post(url, data=envelope, timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{sandbox.NS}:Read"'})
    assert unauthorised.status_code == 401 and unauthorised.content == b""
