"""The BC API v2.0 exporter against its sandbox and the Entra sandbox (msal tokens), over TLS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from erp_export.base import ErpExporter, ErpRejected, ExportResult, RetryPolicy, export_document
from erp_export.bc_rest import BcRestConfig, BcRestExporter
from erp_export.documents import InvoiceDocument, InvoiceLine, PrecedingInvoice
from sandbox import bc_rest as sandbox
from sandbox import entra
from sandbox.core import Clock, SandboxApp, SandboxServer
from sandbox.tls import TlsFiles
from tests.erp_export.conftest import serve
from tests.erp_export.samples import invoice, line

FAST = RetryPolicy(attempts=8, base_delay=0.05, max_delay=2.0, settle=1.5)
TAX_CODES = {"S:21": "STANDARD", "S:9": "REDUCED", "AE:0": "REVCHG"}
INVOICES = r"/[^/]+/[^/]+/api/v2\.0/companies\([0-9a-f-]+\)/salesInvoices"
BATCH = r"POST /[^/]+/[^/]+/api/v2\.0/\$batch"


class Bc:
    """The BC sandbox, the Entra sandbox it trusts, and helpers."""

    def __init__(self, app: SandboxApp, server: SandboxServer, entra_server: SandboxServer, tls: TlsFiles) -> None:
        self.app, self.server, self.entra_server, self.tls = app, server, entra_server, tls

    @property
    def api_url(self) -> str:
        return f"{self.server.url}{sandbox.PREFIX}/{entra.TENANT_ID}/{sandbox.ENVIRONMENT}/api/v2.0"

    def tokens(self) -> TokenProvider:
        return TokenProvider(TARGET_SOURCE, f"{self.entra_server.url}/{entra.TENANT_ID}",
                             entra.CREDENTIALS["client_id"], entra.CREDENTIALS["client_secret"],
                             sandbox.CREDENTIALS["scope"], policy=HttpPolicy(verify=str(self.tls.ca_cert)))

    def exporter(self, **overrides: Any) -> BcRestExporter:
        config = replace(BcRestConfig(api_url=self.api_url, company_name=sandbox.COMPANY_NAME, tax_codes=TAX_CODES,
                                      verify=str(self.tls.ca_cert), timeout=1.0), **overrides)
        tokens = self.tokens()
        return BcRestExporter(config, tokens.token, on_unauthorized=tokens.invalidate)

    def state(self) -> dict[str, Any]:
        text = requests.get(f"{self.server.url}{sandbox.PREFIX}/__admin/state", verify=str(self.tls.ca_cert),
                            timeout=5).text
        return json.loads(text, parse_float=Decimal)


TARGET_SOURCE = "bc_rest"


def start(clock: Clock, tls: TlsFiles, state_dir: Path | None = None, **limits: Any) -> Iterator[Bc]:
    entra_app = entra.build(clock)
    app = sandbox.build(clock, seed=1, state_dir=state_dir, **limits)
    for entra_server in serve(entra_app, entra.PREFIX, tls):
        for server in serve(app, sandbox.PREFIX, tls):
            yield Bc(app, server, entra_server, tls)


@pytest.fixture
def bc(tls_files: TlsFiles, state_dir: Path) -> Iterator[Bc]:
    yield from start(Clock(), tls_files, state_dir)


def assert_once_and_right(bc: Bc, doc: InvoiceDocument, status: str = "Draft") -> None:
    found = [inv for inv in bc.state()["invoices"] if inv["externalDocumentNumber"] == doc.external_ref]
    assert len(found) == 1, f"{len(found)} copies of {doc.external_ref}"
    erp = found[0]
    assert erp["status"] == status and erp["customerNumber"] == doc.buyer.erp_customer_number
    assert sorted((ln["description2"], Decimal(str(ln["quantity"])), Decimal(str(ln["unitPrice"])))
                  for ln in erp["salesInvoiceLines"]) == sorted((ln.ref(), ln.quantity, ln.unit_price)
                                                                for ln in doc.lines)
    totals = (erp["totalAmountExcludingTax"], erp["totalTaxAmount"], erp["totalAmountIncludingTax"])
    assert tuple(Decimal(str(v)) for v in totals) == (doc.total_net, doc.total_vat, doc.total_gross)


FAULTS = {
    "429 retry-after on create": (f"POST {INVOICES}", {"kind": "status", "status": 429,
                                                        "headers": {"Retry-After": "1"}}),
    "503 retry-after on lookup": (f"GET {INVOICES}", {"kind": "status", "status": 503,
                                                       "headers": {"Retry-After": "1"}}),
    "502 twice on lookup": (f"GET {INVOICES}", {"kind": "status", "status": 502, "times": 2}),
    "unreadable 201 on create": (f"POST {INVOICES}", {"kind": "status", "status": 201, "body": "<html>"}),
    "dropped before apply": (f"POST {INVOICES}", {"kind": "drop"}),
    "applied then dropped": (f"POST {INVOICES}", {"kind": "apply_then_drop"}),
    "slow create beyond the timeout": (f"POST {INVOICES}", {"kind": "delay", "seconds": 1.5}),
    "expired token on lookup": (f"GET {INVOICES}", {"kind": "expire_token"}),
    "expired token on create": (f"POST {INVOICES}", {"kind": "expire_token"}),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_every_invoice_lands_exactly_once_under_faults(bc: Bc, fault: tuple[str, dict[str, Any]]) -> None:
    exporter = bc.exporter()
    route, options = fault
    bc.app.faults.arm(route, **options)
    doc = invoice(1)
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.totals_differ(doc) == []
    assert_once_and_right(bc, doc)
    assert export_document(exporter, doc, policy=FAST).action == "skipped"
    assert_once_and_right(bc, doc)


def test_bulk_export_survives_a_lost_batch_and_a_throttled_batch(bc: Bc) -> None:
    docs = [invoice(n, customer=f"C{1 + n % 7:05d}") for n in range(1, 26)]
    exporter = bc.exporter(batch_size=10)
    export_document(exporter, docs[3], policy=FAST)  # one already there: must be skipped, not duplicated
    bc.app.faults.arm(BATCH, kind="apply_then_drop", after=1)  # the first batch of deep inserts: answer lost
    bc.app.faults.arm(BATCH, kind="status", status=429, after=3, headers={"Retry-After": "1"})
    results = exporter.export_many(docs, policy=FAST)
    assert all(isinstance(result, ExportResult) for result in results.values()), results
    actions = [result.action for result in results.values()]  # type: ignore[union-attr]
    assert results[docs[3].external_ref].action == "skipped"  # type: ignore[union-attr]
    assert (actions.count("adopted"), actions.count("created")) == (9, 15)  # the lost batch's 9 were adopted
    for doc in docs:
        assert_once_and_right(bc, doc)


def test_bulk_export_reports_rejections_per_invoice(bc: Bc) -> None:
    good, bad = invoice(30), invoice(31, customer="C99999")
    results = bc.exporter().export_many([good, bad], policy=FAST)
    assert isinstance(results[good.external_ref], ExportResult)
    rejected = results[bad.external_ref]
    assert isinstance(rejected, ErpRejected) and rejected.code == "Application_DialogException"
    assert_once_and_right(bc, good)


def test_client_pacing_keeps_under_the_limit_and_429s_are_honoured_without_it(tls_files: TlsFiles) -> None:
    for bc in start(Clock(), tls_files, rate_limit=12, rate_period=1.0):
        docs = [invoice(n) for n in range(40, 55)]
        paced = bc.exporter(rate_limit=12, rate_period=1.0, batch_size=5)
        assert all(isinstance(r, ExportResult) for r in paced.export_many(docs[:8], policy=FAST).values())
        assert bc.state()["throttled"] == 0
        unpaced = bc.exporter(rate_limit=None, batch_size=5)
        results = unpaced.export_many(docs, policy=FAST)
        assert all(isinstance(r, ExportResult) for r in results.values()), results
        assert bc.state()["throttled"] > 0
        for doc in docs:
            assert_once_and_right(bc, doc)


def test_changed_draft_is_updated_with_etags_in_one_snapshot_batch(bc: Bc) -> None:
    exporter = bc.exporter()
    export_document(exporter, invoice(60), policy=FAST)
    changed = invoice(60, lines=(line(1, "26", "31.20"), line(3, "1", "412.37", rate="9"), line(4, "2", "5.00")))
    assert exporter.plan(changed) == "update"
    assert export_document(exporter, changed, policy=FAST).action == "updated"
    assert_once_and_right(bc, changed)
    assert exporter.plan(changed) == "skip"


def test_etag_contract_of_the_sandbox(bc: Bc) -> None:
    exporter = bc.exporter()
    ref = exporter.create(invoice(61))
    url = f"{bc.api_url}/companies({exporter.company()})/salesInvoices({ref.erp_id})"
    headers = {"Authorization": f"Bearer {bc.tokens().token()}"}
    verify = str(bc.tls.ca_cert)
    missing = requests.patch(url, json={"dueDate": "2026-07-15"}, headers=headers, verify=verify, timeout=5)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "BadRequest_InvalidToken"
    fresh = requests.patch(url, json={"dueDate": "2026-07-15"}, verify=verify, timeout=5,
                           headers={**headers, "If-Match": ref.version})
    assert fresh.status_code == 200 and fresh.json()["@odata.etag"] != ref.version
    stale = requests.patch(url, json={"dueDate": "2026-07-16"}, verify=verify, timeout=5,
                           headers={**headers, "If-Match": ref.version})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "Request_EntityChanged"
    too_big = {"requests": [{"id": str(n), "method": "GET", "url": "companies"} for n in range(101)]}
    assert requests.post(f"{bc.api_url}/$batch", json=too_big, headers=headers, verify=verify,
                         timeout=5).status_code == 400
    with pytest.raises(ValueError):
        exporter.batch([{"method": "GET", "url": "companies"}] * 101)
    assert requests.post(f"{url}/Microsoft.NAV.post", headers=headers, verify=verify, timeout=5).status_code == 204
    again = requests.post(f"{url}/Microsoft.NAV.post", headers=headers, verify=verify, timeout=5)
    assert again.status_code == 400 and again.json()["error"]["code"] == "Application_DialogException"


def test_post_once_even_when_the_answer_is_lost(bc: Bc) -> None:
    exporter = bc.exporter()
    doc = invoice(62)
    bc.app.faults.arm(r"POST .*/Microsoft\.NAV\.post", kind="apply_then_drop")
    result = export_document(exporter, doc, post=True, policy=FAST)
    assert result.ref.status == "posted"
    assert_once_and_right(bc, doc, status="Open")
    assert export_document(exporter, doc, post=True, policy=FAST).action == "skipped"


def test_unknown_customer_is_rejected_with_the_odata_error(bc: Bc) -> None:
    with pytest.raises(ErpRejected, match="Customer does not exist") as caught:
        export_document(bc.exporter(), invoice(63, customer="C99999"), policy=FAST)
    assert caught.value.code == "Application_DialogException"


def test_plan_is_a_dry_run(bc: Bc) -> None:
    exporter = bc.exporter()
    exporter.company()
    before, seen = bc.state(), len(bc.app.calls)
    assert exporter.plan(invoice(64)) == "create"
    assert isinstance(exporter, ErpExporter)
    assert bc.state() == before
    assert {method for method, _ in bc.app.calls[seen:]} == {"GET"}


def test_state_survives_a_restart(bc: Bc, tls_files: TlsFiles, state_dir: Path) -> None:
    doc = invoice(65)
    export_document(bc.exporter(), doc, policy=FAST)
    for reborn in start(Clock(), tls_files, state_dir):
        assert export_document(reborn.exporter(), doc, policy=FAST).action == "skipped"
        assert_once_and_right(reborn, doc)


def test_snapshot_batch_is_all_or_nothing(bc: Bc) -> None:
    exporter = bc.exporter()
    good, bad = exporter.payload(invoice(70)), exporter.payload(invoice(71, customer="C99999"))
    url = f"companies({exporter.company()})/salesInvoices"
    answers = exporter.batch([{"method": "POST", "url": url, "body": good},
                              {"method": "POST", "url": url, "body": bad}], snapshot=True, write=True)
    assert [answer["status"] for answer in answers] == [201, 400]  # rolled back, yet reported as created
    assert bc.state()["invoices"] == []
    answers = exporter.batch([{"method": "POST", "url": url, "body": good},
                              {"method": "POST", "url": url, "body": bad}], write=True)
    assert [answer["status"] for answer in answers] == [201, 400]
    assert_once_and_right(bc, invoice(70))


def credit_note(seq: int, customer: str = "C00001", lines: tuple[InvoiceLine, ...] | None = None) -> InvoiceDocument:
    """A credit note (type 381) for customer ``customer``: by default two credited lines, stated positively."""
    chosen = lines or (line(1, "19", "33.35"), line(2, "1", "12.00", rate="9"))
    return replace(invoice(seq, customer, lines=chosen), type_code="381",
                   preceding_invoice=PrecedingInvoice("NL01-2026-000001", date(2026, 5, 1)))


def test_sales_credit_memo_contract_of_the_sandbox(bc: Bc) -> None:
    """The salesCreditMemo / salesCreditMemoLine entities as API v2.0 documents them: ``creditMemoDate``,
    ``externalDocumentNumber``, deep insert of ``salesCreditMemoLines``, ``$filter`` + ``$expand``, status ``Draft``
    then ``Open`` after ``Microsoft.NAV.post`` (posting twice is refused), number series of its own.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salescreditmemo
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salescreditmemoline
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salescreditmemo_create
    """
    exporter = bc.exporter()
    headers = {"Authorization": f"Bearer {bc.tokens().token()}"}
    verify = str(bc.tls.ca_cert)
    memos = f"{bc.api_url}/companies({exporter.company()})/salesCreditMemos"
    body = {"customerNumber": "C00001", "externalDocumentNumber": "CSP-NL01-CN-1", "creditMemoDate": "2026-06-02",
            "salesCreditMemoLines": [{"lineType": "Account", "lineObjectNumber": "8010", "description": "credit",
                                      "quantity": 2, "unitPrice": 10.5, "taxCode": "STANDARD"}]}
    created = requests.post(memos, json=body, headers=headers, verify=verify, timeout=5)
    assert created.status_code == 201
    memo = created.json()
    assert memo["number"].startswith("S-CR") and memo["status"] == "Draft" and memo["creditMemoDate"] == "2026-06-02"
    assert Decimal(str(memo["totalAmountIncludingTax"])) == Decimal("25.41")
    assert memo["salesCreditMemoLines"][0]["amountExcludingTax"] == 21.0
    found = requests.get(f"{memos}?$filter=externalDocumentNumber eq 'CSP-NL01-CN-1'&$expand=salesCreditMemoLines",
                         headers=headers, verify=verify, timeout=5).json()["value"]
    assert [row["id"] for row in found] == [memo["id"]] and len(found[0]["salesCreditMemoLines"]) == 1
    invoices_url = f"{bc.api_url}/companies({exporter.company()})/salesInvoices"
    assert requests.get(f"{invoices_url}?$filter=externalDocumentNumber eq 'CSP-NL01-CN-1'", headers=headers,
                        verify=verify, timeout=5).json()["value"] == []  # its own entity set
    wrong = requests.post(memos, json={**body, "invoiceDate": "2026-06-02"}, headers=headers, verify=verify,
                          timeout=5)
    assert wrong.status_code == 400 and "invoiceDate" in wrong.json()["error"]["message"]
    post = f"{memos}({memo['id']})/Microsoft.NAV.post"
    assert requests.post(post, headers=headers, verify=verify, timeout=5).status_code == 204
    again = requests.post(post, headers=headers, verify=verify, timeout=5)
    assert again.status_code == 400 and "Sales Credit Memo" in again.json()["error"]["message"]
    assert bc.state()["creditMemos"][0]["status"] == "Open"


def test_credit_note_lands_once_as_a_credit_memo_and_is_posted_once(bc: Bc) -> None:
    exporter = bc.exporter()
    doc = credit_note(70)
    bc.app.faults.arm(r"POST .*/salesCreditMemos$", kind="apply_then_drop")
    result = export_document(exporter, doc, post=True, policy=FAST)
    assert result.ref.status == "posted" and result.ref.type_code == "381"
    assert result.ref.totals_differ(doc) == []
    assert export_document(exporter, doc, post=True, policy=FAST).action == "skipped"
    state = bc.state()
    [memo] = [m for m in state["creditMemos"] if m["externalDocumentNumber"] == doc.external_ref]
    assert not [i for i in state["invoices"] if i["externalDocumentNumber"] == doc.external_ref]
    assert memo["status"] == "Open" and Decimal(str(memo["totalAmountExcludingTax"])) == doc.total_net > 0
    changed = credit_note(71, lines=doc.lines[:1])
    export_document(exporter, credit_note(71), policy=FAST)
    assert exporter.plan(changed) == "update"  # a draft credit memo is updated on its own entity set
    assert export_document(exporter, changed, policy=FAST).action == "updated"
    assert exporter.plan(changed) == "skip"


def test_bulk_export_sends_invoices_and_credit_notes_each_to_its_entity_set(bc: Bc) -> None:
    docs = [invoice(80), credit_note(81), credit_note(82, customer="C00002")]
    results = bc.exporter().export_many(docs, policy=FAST)
    assert [result.action for result in results.values()] == ["created"] * 3  # type: ignore[union-attr]
    again = bc.exporter().export_many(docs, policy=FAST)
    assert [result.action for result in again.values()] == ["skipped"] * 3  # type: ignore[union-attr]
    state = bc.state()
    assert [i["externalDocumentNumber"] for i in state["invoices"]] == [docs[0].external_ref]
    assert sorted(m["externalDocumentNumber"] for m in state["creditMemos"]) == [docs[1].external_ref,
                                                                                  docs[2].external_ref]
