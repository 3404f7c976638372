"""The Peppol access point sandbox speaks Storecove's document submission API as documented at
https://www.storecove.com/docs/ (DocumentSubmissions: ``POST /api/v2/document_submissions``, ``GET
/api/v2/document_submissions/{guid}/evidence/{evidence_type}``; Bearer API key; 422 as a list of ``source`` /
``details``; ``idempotencyGuid``), and the adapter in ``delivery_channels.peppol`` sends exactly that."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from delivery_channels import peppol
from delivery_channels.base import DeliveryRefused
from sandbox import peppol_ap
from sandbox.core import Clock, SandboxServer

UBL = (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
       b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>1</cbc:ID>'
       b'</Invoice>')


@pytest.fixture
def ap(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(peppol_ap.build(Clock(), state_dir=tmp_path), prefix=peppol_ap.PREFIX).start()
    yield server
    server.stop()


def _point(server: SandboxServer, key: str = peppol_ap.CREDENTIALS["api_key"]) -> peppol.AccessPoint:
    return peppol.AccessPoint(f"{server.url}{peppol_ap.PREFIX}", key, int(peppol_ap.CREDENTIALS["legal_entity_id"]))


def test_the_adapter_sends_the_documented_submission(ap: SandboxServer) -> None:
    guid = peppol.submit(_point(ap), idempotency_guid="0b9f2d5e-1111-5222-8333-444455556666", scheme="0106",
                         identifier="12345678", ubl=UBL)
    [request] = [r for r in ap.app.received if r.method == "POST"]
    assert request.path == "/document_submissions"
    assert request.headers["authorization"] == f"Bearer {peppol_ap.CREDENTIALS['api_key']}"
    body = json.loads(request.body)
    assert body == {"legalEntityId": 10001, "idempotencyGuid": "0b9f2d5e-1111-5222-8333-444455556666",
                    "routing": {"eIdentifiers": [{"scheme": "0106", "id": "12345678"}]},
                    "document": {"documentType": "invoice",
                                 "rawDocumentData": {"document": base64.b64encode(UBL).decode(),
                                                     "parseStrategy": "ubl"}}}
    found = peppol.evidence(_point(ap), guid)
    assert found is not None and found.message_id.startswith(guid)
    assert ap.app.received[-1].path == f"/document_submissions/{guid}/evidence/sending"


def test_one_idempotency_guid_is_one_submission(ap: SandboxServer, tmp_path: Path) -> None:
    first = peppol.submit(_point(ap), idempotency_guid="g-1", scheme="0106", identifier="1", ubl=UBL)
    second = peppol.submit(_point(ap), idempotency_guid="g-1", scheme="0106", identifier="1", ubl=UBL)
    assert first == second
    assert len(list((tmp_path / "transmitted").glob("*.xml"))) == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"legalEntityId": 1}, "legalEntityId: legal entity not found"),
    ({"routing": {"eIdentifiers": []}}, "routing: no eIdentifiers"),
    ({"routing": {"eIdentifiers": [{"scheme": "0106", "id": "UNKNOWN-9"}]}}, "not registered on the Peppol network"),
    ({"document": {"documentType": "invoice", "rawDocumentData": {"document": base64.b64encode(b"<x/>").decode()}}},
     "not a UBL Invoice or CreditNote"),
])
def test_refusals_are_422_lists_of_source_and_details(ap: SandboxServer, change: dict, reason: str) -> None:
    body = {"legalEntityId": 10001, "idempotencyGuid": "g-2", "routing": {"eIdentifiers": [{"scheme": "0106",
                                                                                              "id": "1"}]},
            "document": {"documentType": "invoice",
                         "rawDocumentData": {"document": base64.b64encode(UBL).decode(), "parseStrategy": "ubl"}}}
    answer = requests.post(f"{ap.url}{peppol_ap.PREFIX}/document_submissions", json={**body, **change},
                           headers={"Authorization": f"Bearer {peppol_ap.CREDENTIALS['api_key']}"}, timeout=10)
    assert answer.status_code == 422
    [item] = answer.json()
    assert reason in f"{item['source']}: {item['details']}"


def test_a_wrong_key_is_401_and_an_unknown_guid_has_no_evidence(ap: SandboxServer) -> None:
    with pytest.raises(DeliveryRefused, match="401: the API key was refused"):
        peppol.submit(_point(ap, "wrong"), idempotency_guid="g", scheme="0106", identifier="1", ubl=UBL)
    assert peppol.evidence(_point(ap), "no-such-guid") is None
