"""The Partner Center sandbox's reconciliation contract over raw HTTPS: invoice discovery, the v1/v2 cut-over, the v2
export dance, and Entra's refusal of a client-credentials scope without ``/.default``.

Documented behaviour checked here:
- Cut-over ("Key migration dates and scenarios", https://learn.microsoft.com/partner-center/developer/get-invoiceline-items):
  billing periods before February 2024 only through v1; from February 2024 through v1 until 21 April 2025, then
  only through the v2 export. What v1 answers for a period it no longer serves is undocumented; the sandbox answers
  an empty collection (sandbox/partner_center/invoices.py says why).
- v2 export (https://learn.microsoft.com/partner-center/developer/billed-invoice-reconciliation,
  https://learn.microsoft.com/graph/api/partners-billing-billedreconciliation-export,
  https://learn.microsoft.com/graph/api/partners-billing-unbilledreconciliation-export,
  https://learn.microsoft.com/graph/api/partners-billing-operation-get): 202 with ``Location``; the operation answers
  ``Retry-After`` while running; ``exportSuccessOperation`` links the manifest, whose blobs are gzip JSON lines read
  with the SAS token; ``failedOperation`` 5000 when there is no data.
- Invoices (https://learn.microsoft.com/rest/api/partner-center/manage-billing/get-a-collection-of-invoices,
  https://learn.microsoft.com/partner-center/developer/invoice-resources): ``GET /v1/invoices?size=&offset=``, items
  with ``id``, ``invoiceDate``, ``billingPeriodStartDate``/``EndDate``, ``totalCharges``, ``currencyCode``,
  ``invoiceDetails``; invoices appear between the 6th and 8th of the following month.
- Entra client credentials (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
  the scope must be the resource identifier with ``/.default``; Entra refuses others with ``invalid_scope``
  AADSTS1002012 (wording as reported in https://github.com/microsoftgraph/msgraph-sdk-python/issues/889).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from sandbox import entra, partner_center
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import scenario
from sandbox.tls import TlsFiles, make_tls_files

SEED = 7
V2_ONLY = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
BOTH = dt.datetime(2025, 3, 20, 12, 0, tzinfo=dt.UTC)  # before v1 retired for periods from February 2024
V1_ONLY = dt.datetime(2023, 11, 20, 12, 0, tzinfo=dt.UTC)  # periods before February 2024
RECON = "provider=onetime&invoicelineitemtype=billinglineitems&currencycode=EUR&size=2000"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


class Microsoft:
    """Raw HTTPS to one Partner Center sandbox (v1 under ``/pc/v1``, Graph under ``/graph/v1.0``)."""

    def __init__(self, server: SandboxServer, tls: TlsFiles, now: dt.datetime) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(tls.ca_cert)
        self.pc_token = entra.issue_token(partner_center.AUDIENCE, entra.TENANT_ID, "t", now, dt.timedelta(hours=1))
        self.graph_token = entra.issue_token("https://graph.microsoft.com", entra.TENANT_ID, "t", now,
                                             dt.timedelta(hours=1))

    def v1(self, path: str) -> requests.Response:
        return self.session.get(f"{self.server.url}/pc/v1{path}", timeout=5,
                                headers={"Authorization": f"Bearer {self.pc_token}"})

    def graph(self, method: str, url: str, body: dict | None = None) -> requests.Response:
        if not url.startswith("https://"):
            url = f"{self.server.url}{partner_center.GRAPH_BASE}{url}"
        return self.session.request(method, url, json=body, timeout=5,
                                    headers={"Authorization": f"Bearer {self.graph_token}"})

    def export(self, kind: str, body: dict) -> dict:
        """Request an export and poll it to its end; the final operation body."""
        started = self.graph("POST", f"/reports/partners/billing/reconciliation/{kind}/export", body)
        assert started.status_code == 202 and started.headers["Location"]
        for _ in range(10):
            operation = self.graph("GET", started.headers["Location"])
            assert operation.status_code == 200
            if operation.json()["status"] != "running":
                return operation.json()
            assert int(operation.headers["Retry-After"]) >= 1
        raise AssertionError("export never finished")

    def lines(self, operation: dict) -> list[dict]:
        """Every record of a succeeded export, read from its blobs with the manifest's SAS token (no bearer)."""
        manifest = self.graph("GET", operation["resourceLocation@odata.navigationLink"]).json()
        assert manifest["blobCount"] == len(manifest["blobs"])
        records = []
        for blob in manifest["blobs"]:
            url = f"{manifest['rootDirectory']}/{blob['name']}?{manifest['sasToken']}"
            data = self.session.get(url, timeout=5)
            assert data.status_code == 200
            records += [json.loads(line) for line in gzip.decompress(data.content).decode().splitlines()]
        return records


def serve(tls: TlsFiles, now: dt.datetime) -> Iterator[Microsoft]:
    with SandboxServer(partner_center.build(Clock(now), seed=SEED), tls=tls, prefix=partner_center.PREFIX) as server:
        yield Microsoft(server, tls, now)


@pytest.fixture
def ms(request: pytest.FixtureRequest, tls: TlsFiles) -> Iterator[Microsoft]:
    yield from serve(tls, request.param)


def invoice_of(now: dt.datetime, months_back: int) -> str:
    world = scenario(SEED, now.date().replace(day=1))
    months = now.year * 12 + now.month - 1 - months_back
    return world.invoice_id(dt.date(months // 12, months % 12 + 1, 1))


# (clock, v1 serves the current and last month's periods, v2 serves them)
CUT_OVER = [(V2_ONLY, False, True), (BOTH, True, True), (V1_ONLY, True, False)]


@pytest.mark.parametrize(("ms", "v1_serves", "v2_serves"), CUT_OVER, indirect=["ms"],
                         ids=["2026-v2-only", "2025-03-both", "2023-v1-only"])
def test_each_api_serves_the_periods_microsoft_says(ms: Microsoft, v1_serves: bool, v2_serves: bool) -> None:
    now = ms.server.app.clock.now()
    invoice = invoice_of(now, 1)
    unbilled_v1 = ms.v1(f"/invoices/unbilled/lineitems?{RECON}&period=current")
    billed_v1 = ms.v1(f"/invoices/{invoice}/lineitems?{RECON}")
    assert unbilled_v1.status_code == billed_v1.status_code == 200
    assert bool(unbilled_v1.json()["items"]) is v1_serves
    assert bool(billed_v1.json()["items"]) is v1_serves

    unbilled_v2 = ms.export("unbilled", {"currencyCode": "EUR", "billingPeriod": "current", "attributeSet": "full"})
    billed_v2 = ms.export("billed", {"invoiceId": invoice, "attributeSet": "full"})
    for operation in (unbilled_v2, billed_v2):
        if v2_serves:
            assert operation["@odata.type"] == "#microsoft.graph.partners.billing.exportSuccessOperation"
        else:
            assert operation["@odata.type"] == "#microsoft.graph.partners.billing.failedOperation"
            assert operation["error"]["code"] == "5000"
    if v1_serves and v2_serves:  # the same charges, PascalCase in v2
        v1_refs = sorted((i["referenceId"], str(i["subtotal"])) for i in billed_v1.json()["items"])
        v2_refs = sorted((i["ReferenceId"], str(i["Subtotal"])) for i in ms.lines(billed_v2))
        assert v1_refs == v2_refs


@pytest.mark.parametrize("ms", [V2_ONLY], indirect=True)
def test_invoices_are_listed_with_their_billing_periods_and_paged_by_offset(ms: Microsoft) -> None:
    first = ms.v1("/invoices?size=2")
    assert first.status_code == 200
    body = first.json()
    assert body["totalCount"] == 6 and len(body["items"]) == 2
    assert body["links"]["next"]["uri"] == "/invoices?size=2&offset=2"
    second = ms.v1("/invoices?size=2&offset=2").json()
    newest = body["items"][0]
    assert newest["id"] == invoice_of(V2_ONLY, 1) and newest["id"] not in {i["id"] for i in second["items"]}
    assert newest["billingPeriodStartDate"] == "2026-04-01T00:00:00Z"
    assert newest["billingPeriodEndDate"] == "2026-04-30T00:00:00Z"
    assert newest["invoiceDate"] == "2026-05-07T00:00:00Z"
    assert newest["currencyCode"] == "EUR" and newest["attributes"]["objectType"] == "Invoice"
    assert newest["invoiceDetails"][0]["billingProvider"] == "one_time"
    lines = ms.lines(ms.export("billed", {"invoiceId": newest["id"], "attributeSet": "full"}))
    assert Decimal(str(newest["totalCharges"])) == sum(Decimal(str(line["Subtotal"])) for line in lines)
    assert {line["InvoiceNumber"] for line in lines} == {newest["id"]}


@pytest.mark.parametrize("ms", [dt.datetime(2026, 5, 6, 23, 0, tzinfo=dt.UTC)], indirect=True)
def test_an_invoice_appears_only_once_issued(ms: Microsoft) -> None:
    ids = {item["id"] for item in ms.v1("/invoices?size=10").json()["items"]}
    assert invoice_of(V2_ONLY, 1) not in ids and invoice_of(V2_ONLY, 2) in ids
    assert ms.v1(f"/invoices/{invoice_of(V2_ONLY, 1)}/lineitems?{RECON}").status_code == 404


@pytest.mark.parametrize("ms", [V2_ONLY], indirect=True)
def test_a_running_export_asks_the_client_to_wait_and_a_wrong_sas_is_refused(ms: Microsoft) -> None:
    ms.server.app.faults.arm("POST /graph/.*/unbilled/export", "slow_export", times=1, body={"polls": 2})
    operation = ms.export("unbilled", {"currencyCode": "EUR", "billingPeriod": "last", "attributeSet": "basic"})
    assert operation["status"] == "succeeded"
    manifest = ms.graph("GET", operation["resourceLocation@odata.navigationLink"]).json()
    forged = ms.session.get(f"{manifest['rootDirectory']}/{manifest['blobs'][0]['name']}?sig=forged", timeout=5)
    assert forged.status_code == 403 and b"AuthenticationFailed" in forged.content


@pytest.fixture
def entra_url(tls: TlsFiles) -> Iterator[str]:
    with SandboxServer(entra.build(Clock(V2_ONLY)), tls=tls) as server:
        yield f"{server.url}/{entra.TENANT_ID}/oauth2/v2.0/token"


@pytest.mark.parametrize(("scope", "status"), [
    ("https://graph.microsoft.com/.default", 200),
    ("https://graph.microsoft.com/PartnerBilling.Read.All", 400),
    ("https://api.partnercenter.microsoft.com/user_impersonation", 400),
    ("https://api.partnercenter.microsoft.com", 400),
])
def test_client_credentials_need_a_default_scope(entra_url: str, tls: TlsFiles, scope: str, status: int) -> None:
    form = {"grant_type": "client_credentials", "client_id": entra.CREDENTIALS["client_id"],
            "client_secret": entra.CREDENTIALS["client_secret"], "scope": scope}
    answer = requests.post(entra_url, data=form, verify=str(tls.ca_cert), timeout=5)
    assert answer.status_code == status
    if status == 400:
        body = answer.json()
        assert body["error"] == "invalid_scope" and body["error_codes"] == [1002012]
        assert body["error_description"].startswith("AADSTS1002012: The provided value for scope")
        assert "/.default" in body["error_description"]
