"""A Peppol access point stand-in speaking Storecove's REST API (https://www.storecove.com/docs/), served under
``/api/v2`` like ``https://api.storecove.com/api/v2``.

- Auth: ``Authorization: Bearer <API key>``; anything else is 401 with an empty body.
- ``POST /document_submissions``: a ``DocumentSubmission`` (``legalEntityId``, ``idempotencyGuid``,
  ``routing.eIdentifiers[{scheme, id}]``, ``document.documentType`` ``invoice`` and
  ``document.rawDocumentData.document``, base64 UBL with ``parseStrategy`` ``ubl``). 200 ``{"guid": ...}``; 422 a
  list of ``{"source", "details"}`` for an unknown legal entity, a missing route, a document that is not a UBL
  Invoice or CreditNote, or a receiver the network does not know (participant ids starting ``UNKNOWN``). A second
  submission with an ``idempotencyGuid`` already seen answers the first one's guid and transmits nothing.
- ``GET /document_submissions/{guid}/evidence/{evidence_type}``: 404 while the document is in transmission (fault
  knob ``in_transmission``), then 200 with ``guid``, ``network``, ``sender``, ``receiver`` and ``evidence``
  (``message_id``, ``receiving_accesspoint``).

Submissions are kept in ``state_dir/submissions.json`` (so a second demo run sees the first one's) and every
transmitted UBL in ``state_dir/transmitted/<guid>.xml``, where tests read what the receiver got.
"""

from __future__ import annotations

import base64
import binascii
import threading
import uuid
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.routing import Routes
from sandbox.state_file import StateFile

PREFIX = "/api/v2"
CREDENTIALS = {"api_key": "sandbox-storecove-api-key", "legal_entity_id": "10001"}
UBL_ROOTS = ("{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
             "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote")
RECEIVING_AP = "sandbox-receiving-ap"


def build(clock: Clock, seed: int = 1, state_dir: Path | None = None) -> SandboxApp:
    del seed  # nothing random here
    app = SandboxApp("peppol_ap", clock)
    state = StateFile(Path(state_dir) / "submissions.json") if state_dir else None
    transmitted = Path(state_dir) / "transmitted" if state_dir else None
    submissions: dict[str, dict[str, Any]] = (state.load() if state else None) or {}
    lock = threading.Lock()

    def guard(request: Request, handler: Any) -> Response:
        if request.header("Authorization") != f"Bearer {CREDENTIALS['api_key']}":
            return Response(401, "")
        return handler(request)

    routes = Routes(app, "", guard)

    @routes("POST", r"/document_submissions")
    def submit(request: Request) -> Response:
        body = request.json() or {}
        problems = _problems(body)
        if problems:
            return Response(422, [{"source": source, "details": details} for source, details in problems])
        key = str(body.get("idempotencyGuid") or "")
        with lock:
            earlier = next((guid for guid, s in submissions.items() if key and s["idempotency_guid"] == key), None)
            if earlier:
                return Response(200, {"guid": earlier})
            guid = str(uuid.uuid4())
            route = body["routing"]["eIdentifiers"][0]
            submissions[guid] = {"idempotency_guid": key, "legal_entity_id": body["legalEntityId"],
                                 "receiver": f"{route['scheme']}:{route['id']}",
                                 "submitted_at": request.clock.now().isoformat()}
            if transmitted is not None:
                transmitted.mkdir(parents=True, exist_ok=True)
                (transmitted / f"{guid}.xml").write_bytes(_document(body))
            if state:
                state.save(submissions)
        return Response(200, {"guid": guid})

    @routes("GET", r"/document_submissions/(?P<guid>[^/]+)/evidence/(?P<kind>[a-z_]+)")
    def evidence(request: Request) -> Response:
        found = submissions.get(request.params["guid"])
        if found is None or request.has_fault("in_transmission"):
            return Response(404, "")
        return Response(200, {"guid": request.params["guid"], "network": "peppol",
                              "sender": f"legal_entity:{found['legal_entity_id']}", "receiver": found["receiver"],
                              "evidence": {"message_id": f"{request.params['guid']}@{RECEIVING_AP}",
                                           "receiving_accesspoint": RECEIVING_AP}})

    @routes.not_found
    def missing(request: Request) -> Response:
        return Response(404, "")

    return app


def _problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    if body.get("legalEntityId") != int(CREDENTIALS["legal_entity_id"]):
        return [("legalEntityId", "legal entity not found")]
    identifiers = ((body.get("routing") or {}).get("eIdentifiers")) or []
    if not identifiers or not all(isinstance(i, dict) and i.get("scheme") and i.get("id") for i in identifiers):
        return [("routing", "no eIdentifiers to route the document to")]
    if any(str(i["id"]).upper().startswith("UNKNOWN") for i in identifiers):
        return [("routing.eIdentifiers", f"receiver {identifiers[0]['scheme']}:{identifiers[0]['id']} is not "
                                         "registered on the Peppol network")]
    document = body.get("document") or {}
    if document.get("documentType") != "invoice":
        return [("document.documentType", "must be invoice")]
    try:
        root = ElementTree.fromstring(_document(body))
    except (ValueError, ElementTree.ParseError, binascii.Error):
        return [("document.rawDocumentData.document", "not base64 encoded XML")]
    if root.tag not in UBL_ROOTS:
        return [("document.rawDocumentData.document", f"not a UBL Invoice or CreditNote: {root.tag}")]
    return []


def _document(body: dict[str, Any]) -> bytes:
    raw = ((body.get("document") or {}).get("rawDocumentData") or {}).get("document") or ""
    return base64.b64decode(raw, validate=True)
