"""Peppol delivery through an access point's REST API, as Storecove documents it (https://www.storecove.com/docs/):

- ``POST {base}/document_submissions`` with ``Authorization: Bearer <API key>`` and a ``DocumentSubmission``:
  ``legalEntityId`` (the sender, set up at the access point), ``idempotencyGuid``, ``routing.eIdentifiers``
  (``[{scheme, id}]``) and ``document`` (``documentType: invoice``, ``rawDocumentData: {document: <base64 UBL>,
  parseStrategy: ubl}``); 200 answers ``{guid}``, 422 a list of ``{source, details}`` (a refusal, with its reason).
- ``GET {base}/document_submissions/{guid}/evidence/sending``: 404 while the document is still being transmitted,
  200 with the ``evidence`` (``message_id``, ``receiving_accesspoint``) once it was delivered.

Why the idempotency GUID is derived from the invoice: a submission retried after a crash or a timeout carries the
same GUID, and the access point answers it with the first submission's ``guid`` instead of transmitting it again, so
a retry is a look-up of what we already sent.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import requests

from delivery_channels.base import DeliveryDeferred, DeliveryRefused

EVIDENCE_TYPE = "sending"


@dataclass(frozen=True)
class AccessPoint:
    base_url: str  # up to and including /api/v2
    api_key: str
    legal_entity_id: int
    timeout: float = 60.0
    ca_bundle: str | None = None


@dataclass(frozen=True)
class Evidence:
    message_id: str
    receiving_accesspoint: str | None


def submit(ap: AccessPoint, *, idempotency_guid: str, scheme: str, identifier: str, ubl: bytes) -> str:
    """Submit one UBL invoice or credit note to the Peppol participant ``scheme:identifier``; returns the access
    point's submission guid. Raises ``DeliveryRefused`` (422, 401/403) or ``DeliveryDeferred``."""
    body = {
        "legalEntityId": ap.legal_entity_id,
        "idempotencyGuid": idempotency_guid,
        "routing": {"eIdentifiers": [{"scheme": scheme, "id": identifier}]},
        "document": {"documentType": "invoice",
                     "rawDocumentData": {"document": base64.b64encode(ubl).decode("ascii"), "parseStrategy": "ubl"}},
    }
    answer = _call(ap, "POST", "/document_submissions", json=body)
    guid = answer.json().get("guid") if answer.content else None
    if not guid:
        raise DeliveryDeferred(f"access point {ap.base_url}: submission answered without a guid")
    return str(guid)


def evidence(ap: AccessPoint, guid: str) -> Evidence | None:
    """The delivery evidence of submission ``guid``, or ``None`` while it is still being transmitted."""
    answer = _call(ap, "GET", f"/document_submissions/{guid}/evidence/{EVIDENCE_TYPE}", missing_ok=True)
    if answer.status_code == 404:
        return None
    found: dict[str, Any] = (answer.json() or {}).get("evidence") or {}
    if not found.get("message_id"):
        return None
    return Evidence(str(found["message_id"]), found.get("receiving_accesspoint"))


def _call(ap: AccessPoint, method: str, path: str, *, json: Any = None, missing_ok: bool = False
          ) -> requests.Response:
    url = ap.base_url + path
    try:
        answer = requests.request(method, url, json=json, timeout=ap.timeout, verify=ap.ca_bundle or True,
                                  headers={"Authorization": f"Bearer {ap.api_key}", "Accept": "application/json"})
    except requests.RequestException as exc:
        raise DeliveryDeferred(f"access point {method} {path}: {exc}") from exc
    if answer.status_code == 404 and missing_ok:
        return answer
    if answer.status_code in (401, 403):
        raise DeliveryRefused(f"access point {method} {path}: {answer.status_code}: the API key was refused")
    if answer.status_code == 422:
        raise DeliveryRefused(f"access point refused the document: {_reasons(answer)}")
    if answer.status_code >= 400:
        raise DeliveryDeferred(f"access point {method} {path}: HTTP {answer.status_code}")
    return answer


def _reasons(answer: requests.Response) -> str:
    try:
        found = answer.json()
    except ValueError:
        return answer.text[:300]
    items = found if isinstance(found, list) else [found]
    return "; ".join(f"{item.get('source', '')}: {item.get('details', '')}".strip(": ") for item in items
                     if isinstance(item, dict)) or answer.text[:300]
