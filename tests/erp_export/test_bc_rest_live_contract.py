"""Business Central API v2.0 as it behaves live (issue 17): rolled-back batches that still report 2xx, the
concurrency-token error, the ``Company`` header and multipart ``$batch``; the sandbox's contract and the exporter
against it over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.http import dumps_json
from erp_export.base import ErpConflict, ErpRejected, ExportResult, export_document
from sandbox import bc_rest as sandbox
from sandbox.core import Clock
from sandbox.tls import TlsFiles
from tests.erp_export.samples import invoice
from tests.erp_export.test_bc_rest import BATCH, FAST, Bc, assert_once_and_right, start


@pytest.fixture
def live(tls_files: TlsFiles, state_dir: Path) -> Iterator[Bc]:
    yield from start(Clock(), tls_files, state_dir)


def _auth(bc: Bc) -> dict[str, Any]:
    return {"headers": {"Authorization": f"Bearer {bc.tokens().token()}"}, "verify": str(bc.tls.ca_cert),
            "timeout": 5}


def test_concurrency_token_errors_as_documented(live: Bc) -> None:
    """A missing If-Match and one that is no ETag of the record answer 400 ``BadRequest_InvalidToken`` "Could not
    validate the client concurrency token required by the service"; an ETag of an older version 409
    ``Request_EntityChanged``.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/dynamics-error-codes
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v1.0/dynamics_error_codes
    """
    exporter = live.exporter()
    ref = exporter.create(invoice(80))
    url = f"{live.api_url}/companies({exporter.company()})/salesInvoices({ref.erp_id})"
    auth = _auth(live)
    for if_match in (None, "garbage", 'W/"bm90O2FuO2V0YWc="'):
        extra = {} if if_match is None else {"If-Match": if_match}
        answer = requests.patch(url, json={"dueDate": "2026-07-15"}, **{**auth, "headers": {**auth["headers"],
                                                                                          **extra}})
        assert answer.status_code == 400, if_match
        assert answer.json()["error"]["code"] == "BadRequest_InvalidToken"
        assert "Could not validate the client concurrency token" in answer.json()["error"]["message"]
    fresh = requests.patch(url, json={"dueDate": "2026-07-15"},
                           **{**auth, "headers": {**auth["headers"], "If-Match": ref.version}})
    assert fresh.status_code == 200
    stale = requests.patch(url, json={"dueDate": "2026-07-16"},
                           **{**auth, "headers": {**auth["headers"], "If-Match": ref.version}})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "Request_EntityChanged"


def test_the_exporter_treats_an_invalid_token_as_a_conflict(live: Bc) -> None:
    exporter = live.exporter()
    ref = exporter.create(invoice(81))
    with pytest.raises(ErpConflict, match="BadRequest_InvalidToken"):
        exporter.delete_draft(replace(ref, version="not-an-etag"))
    assert_once_and_right(live, invoice(81))


def test_snapshot_batch_rolls_back_and_still_reports_201(live: Bc) -> None:
    """``Isolation: snapshot``: a failure reverts every change of the batch "as if the batch request never
    happened", while the response lists the operations that ran with their own 2xx status.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
    """
    exporter = live.exporter()
    url = f"companies({exporter.company()})/salesInvoices"
    answers = exporter.batch([{"method": "POST", "url": url, "body": exporter.payload(invoice(82))},
                              {"method": "POST", "url": url, "body": exporter.payload(invoice(83, "C99999"))}],
                             snapshot=True, write=True)
    assert [answer["status"] for answer in answers] == [201, 400]
    reported = answers[0]["body"]["id"]
    assert live.state()["invoices"] == []
    gone = requests.get(f"{live.api_url}/{url}({reported})", **_auth(live))
    assert gone.status_code == 404


def test_bulk_export_never_records_an_invoice_a_rolled_back_batch_reported(live: Bc) -> None:
    good, other, bad = invoice(84), invoice(85), invoice(86, customer="C99999")
    live.app.faults.arm(BATCH, kind="roll_back", after=1, times=1)  # the first batch of deep inserts
    results = live.exporter().export_many([good, other, bad], policy=FAST)
    rejected = results[bad.external_ref]
    assert isinstance(rejected, ErpRejected) and rejected.code == "Application_DialogException"
    held = {inv["id"] for inv in live.state()["invoices"]}
    for doc in (good, other):
        result = results[doc.external_ref]
        assert isinstance(result, ExportResult) and result.action == "created"
        assert result.ref.erp_id in held
        assert_once_and_right(live, doc)


def test_company_header_and_query_name_the_company(live: Bc) -> None:
    """The documented batch example names the company with a ``Company`` header and URLs relative to the API root
    without ``companies({id})``; ``?company=<name>`` does the same on a direct request; without either BC cannot
    find a default company.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
    """
    exporter = live.exporter()
    body = exporter.payload(invoice(87))
    auth = _auth(live)
    batch = {"requests": [{"id": "1", "method": "POST", "url": "salesInvoices", "body": body,
                           "headers": {"Company": sandbox.COMPANY_NAME, "Content-Type": "application/json"}}]}
    answer = requests.post(f"{live.api_url}/$batch", data=dumps_json(batch),
                           **{**auth, "headers": {**auth["headers"], "Content-Type": "application/json"}}
                           ).json()["responses"][0]
    assert answer["status"] == 201
    listed = requests.get(f"{live.api_url}/salesInvoices", params={"company": sandbox.COMPANY_NAME}, **auth)
    assert [row["externalDocumentNumber"] for row in listed.json()["value"]] == [invoice(87).external_ref]
    by_header = requests.get(f"{live.api_url}/salesInvoices",
                             **{**auth, "headers": {**auth["headers"], "Company": sandbox.COMPANY_NAME}})
    assert by_header.status_code == 200 and len(by_header.json()["value"]) == 1
    nameless = requests.get(f"{live.api_url}/salesInvoices", **auth)
    assert nameless.status_code == 400 and "default company" in nameless.json()["error"]["message"]
    wrong = requests.get(f"{live.api_url}/salesInvoices", params={"company": "Nobody GmbH"}, **auth)
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "Internal_CompanyNotFound"


def test_multipart_batch_with_a_change_set(live: Bc) -> None:
    """OData v4 multipart ``$batch``: ``multipart/mixed`` with ``application/http`` parts and a change set;
    the answer is multipart too, a response per request in order.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
    https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part1-protocol.html#sec_MultipartBatchFormat
    """
    exporter = live.exporter()
    payload = dumps_json(exporter.payload(invoice(88))).decode()
    cid = exporter.company()
    text = (
        "--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n"
        "--changeset_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
        f"POST companies({cid})/salesInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{payload}\r\n"
        "--changeset_1--\r\n"
        "--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {live.api_url}/salesInvoices?company={sandbox.COMPANY_NAME.replace(' ', '%20')} HTTP/1.1\r\n"
        "Accept: application/json\r\n\r\n\r\n"
        "--batch_1--\r\n")
    auth = _auth(live)
    answer = requests.post(f"{live.api_url}/$batch", data=text.encode(),
                           **{**auth, "headers": {**auth["headers"],
                                                  "Content-Type": "multipart/mixed; boundary=batch_1"}})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("multipart/mixed")
    assert answer.text.index("HTTP/1.1 201 Created") < answer.text.index("HTTP/1.1 200 OK")
    assert invoice(88).external_ref in answer.text.split("HTTP/1.1 200 OK")[1]
    assert_once_and_right(live, invoice(88))
    broken = requests.post(f"{live.api_url}/$batch", data=b"--x\r\nnothing",
                           **{**auth, "headers": {**auth["headers"], "Content-Type": "multipart/mixed; boundary=x"}})
    assert broken.status_code == 400


def test_single_export_still_lands_once(live: Bc) -> None:
    doc = invoice(89)
    assert export_document(live.exporter(), doc, policy=FAST).action == "created"
    assert_once_and_right(live, doc)
