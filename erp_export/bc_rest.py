"""Business Central online sales invoices and sales credit memos over API v2.0 (erp.md §3), one at a time or in
``$batch`` bulk.

A credit note (type 381) goes to ``salesCreditMemos`` with ``salesCreditMemoLines`` and ``creditMemoDate``, its
amounts positive as the document states them; look-up, update and posting work on that entity set the same way.

Why it looks like this: a deep insert creates header and lines atomically, so "found" means "complete"; updates need
``If-Match`` with the ETag we last saw (409 ``Request_EntityChanged`` or 400 ``BadRequest_InvalidToken`` → re-read
and re-apply); posting is a separate idempotent step
guarded by ``status``. BC's limit is per user (6000 requests per 5 minutes, each ``$batch`` operation counted), so
the exporter paces itself with a client-side token bucket sized like the server's and treats 429/503 as
``ErpUnavailable`` carrying ``Retry-After``. ``export_many`` is the outbox's bulk path: up to 100 look-ups per
``$batch``, then up to 100 deep inserts per ``$batch`` for the invoices that were not found; anything whose outcome is
unknown is looked up again in the next round, never re-sent blindly. A ``$batch`` that BC rolls back may still
report its other operations as 200/201/204, so after any failed operation in a batch the rest are verified by look-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from connectors.errors import AuthenticationFailed, SourceError
from connectors.http import HttpPolicy, build_session, dumps_json
from connectors.retry import retry_after
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpConflict,
    ErpDocumentRef,
    ErpError,
    ErpOutcomeUnknown,
    ErpRejected,
    ErpUnavailable,
    ExportResult,
    Planning,
    RetryPolicy,
    TokenBucket,
    transport_failure,
    vat_key,
)
from erp_export.bc_rest_bulk import export_many
from erp_export.documents import DocumentType, InvoiceDocument, InvoiceLine

TARGET = "bc_rest"
# a missing or unusable If-Match: 400 "Could not validate the client concurrency token required by the service"
# (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/dynamics-error-codes)
INVALID_TOKEN = "BadRequest_InvalidToken"
MAX_BATCH = 100
# per UNCL 1001 type: the entity set, its lines and its document date (API v2.0 salesInvoice / salesCreditMemo)
ENTITIES: dict[str, tuple[str, str, str]] = {
    "380": ("salesInvoices", "salesInvoiceLines", "invoiceDate"),
    "381": ("salesCreditMemos", "salesCreditMemoLines", "creditMemoDate"),
}


@dataclass(frozen=True)
class BcRestConfig:
    """``api_url`` is ``https://api.businesscentral.dynamics.com/v2.0/<tenant>/<environment>/api/v2.0``."""

    api_url: str
    company_id: str | None = None  # default: the company named company_name (or the only one)
    company_name: str | None = None
    line_type: str = "Account"  # G/L account lines: lineObjectNumber = the line's account
    tax_codes: Mapping[str, str] = field(default_factory=dict)  # vat_key ("S:21") -> taxCode (VAT Prod. group)
    verify: bool | str = True
    timeout: float = 60.0
    rate_limit: int | None = 6000  # requests per rate_period per user; None = no client-side pacing
    rate_period: float = 300.0
    batch_size: int = MAX_BATCH


class BcRestExporter(Planning):
    """``ErpExporter`` for BC API v2.0; ``token_provider`` returns a bearer token (msal in production)."""

    target = TARGET
    supports_update = True

    def __init__(self, config: BcRestConfig, token_provider: Callable[[], str],
                 on_unauthorized: Callable[[], None] | None = None) -> None:
        if not 1 <= config.batch_size <= min(MAX_BATCH, config.rate_limit or MAX_BATCH):
            raise ValueError(f"batch_size must be 1..{MAX_BATCH} and not above rate_limit")
        self.config = config
        self._token_provider = token_provider
        self._on_unauthorized = on_unauthorized
        self._session = build_session(TARGET, HttpPolicy(retries=0, verify=config.verify,
                                                         read_timeout=config.timeout))
        self.bucket = TokenBucket(config.rate_limit, config.rate_period) if config.rate_limit else None
        self._company = config.company_id

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _token(self) -> str:
        try:
            return self._token_provider()
        except AuthenticationFailed as exc:
            raise ErpAuthenticationFailed(TARGET, str(exc)) from exc
        except SourceError as exc:
            raise ErpUnavailable(TARGET, str(exc)) from exc

    def _send(self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
              write: bool = False, cost: int = 1) -> requests.Response:
        """One HTTP exchange with pacing, one token renewal on 401, and transport failures typed."""
        for attempt in (1, 2):
            if self.bucket:
                self.bucket.acquire(cost)
            all_headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json",
                           **(headers or {})}
            if body is not None:
                all_headers["Content-Type"] = "application/json"
            data = dumps_json(body) if body is not None else None
            try:
                response = self._session.request(method, url, data=data, headers=all_headers)
            except requests.RequestException as exc:
                raise transport_failure(TARGET, exc, write=write) from exc
            if response.status_code == 401 and attempt == 1:
                if self._on_unauthorized:
                    self._on_unauthorized()
                continue
            return response
        raise ErpAuthenticationFailed(TARGET, _message(response) or "bearer token refused", status=401)

    def _check(self, status: int, headers: Mapping[str, str], body: Any, write: bool) -> None:
        """Raise the typed error for a non-2xx answer (direct or inside a batch)."""
        if status < 400:
            return
        code, message = _error_of(body)
        if status in (429, 502, 503) or (status >= 500 and not (write and status == 504)):
            if status == 429 and self.bucket:
                self.bucket.drain()
            raise ErpUnavailable(TARGET, f"HTTP {status} {code}: {message}", retry_after(headers))
        if status == 504:
            raise ErpOutcomeUnknown(TARGET, "gateway timeout on a write: look it up before retrying")
        if status in (409, 412) or code == INVALID_TOKEN:
            raise ErpConflict(TARGET, f"{code}: {message}")
        if status in (401, 403):
            raise ErpAuthenticationFailed(TARGET, message, code=code, status=status)
        raise ErpRejected(TARGET, message, code=code, status=status)

    def _json(self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
              write: bool = False, cost: int = 1) -> Any:
        response = self._send(method, url, body=body, headers=headers, write=write, cost=cost)
        try:
            payload = response.json(parse_float=Decimal) if response.content else None
        except ValueError:
            payload = None
            if response.status_code < 300:  # a success we cannot read: for a write, the outcome is unknown
                raise (ErpOutcomeUnknown if write else ErpUnavailable)(TARGET, "unreadable answer") from None
        self._check(response.status_code, response.headers, payload, write)
        return payload

    def request_json(self, method: str, url: str, *, body: Any = None, write: bool = False) -> Any:
        """One API call with pacing, token renewal and typed errors (the payment journal adapter's transport)."""
        return self._json(method, url, body=body, write=write)

    def company(self) -> str:
        if self._company is None:
            rows = self._json("GET", f"{self.config.api_url}/companies")["value"]
            named = [row for row in rows if self.config.company_name in (None, row["name"])]
            if len(named) != 1:
                raise ErpRejected(TARGET, f"company {self.config.company_name!r} not found (or ambiguous)")
            self._company = named[0]["id"]
        return self._company

    def documents_path(self, type_code: DocumentType = "380") -> str:
        """The sales invoices (or, for 381, sales credit memos) collection of our company, relative to
        ``api_url``."""
        return f"companies({self.company()})/{ENTITIES[type_code][0]}"

    # -- mapping --------------------------------------------------------------------------------------------

    def _line(self, line: InvoiceLine) -> dict[str, Any]:
        values: dict[str, Any] = {
            "lineType": self.config.line_type, "lineObjectNumber": line.account,
            "description": line.description[:100], "description2": line.ref(),
            "quantity": line.quantity, "unitPrice": line.unit_price,
        }
        code = self.config.tax_codes.get(vat_key(line.vat_category, line.vat_rate))
        if code:
            values["taxCode"] = code
        return values

    def _header(self, doc: InvoiceDocument) -> dict[str, Any]:
        header = {"customerNumber": doc.buyer.erp_customer_number, "externalDocumentNumber": doc.external_ref,
                  ENTITIES[doc.type_code][2]: doc.issue_date.isoformat(), "postingDate": doc.issue_date.isoformat(),
                  "currencyCode": doc.currency}
        if doc.due_date:
            header["dueDate"] = doc.due_date.isoformat()
        return header

    def payload(self, doc: InvoiceDocument) -> dict[str, Any]:
        """The deep-insert body for ``doc`` (header with nested ``salesInvoiceLines`` / ``salesCreditMemoLines``)."""
        return {**self._header(doc), ENTITIES[doc.type_code][1]: [self._line(line) for line in doc.lines]}

    @staticmethod
    def ref_of(row: Mapping[str, Any], type_code: DocumentType = "380") -> ErpDocumentRef:
        """Our view of a BC sales invoice or credit memo row (with its expanded lines)."""
        lines = row.get(ENTITIES[type_code][1]) or []
        return ErpDocumentRef(
            erp_id=row["id"], external_ref=row.get("externalDocumentNumber") or "", number=row.get("number"),
            status="draft" if row.get("status") in ("Draft", " ", "", None) else "posted",
            version=row.get("@odata.etag"), line_count=len(lines),
            total_net=_dec(row.get("totalAmountExcludingTax")), total_vat=_dec(row.get("totalTaxAmount")),
            total_gross=_dec(row.get("totalAmountIncludingTax")), type_code=type_code,
        )

    def lookup_url(self, external_ref: str, type_code: DocumentType = "380") -> str:
        """The relative URL that finds our invoice (or credit memo) by external reference (with its lines)."""
        expression = quote(f"externalDocumentNumber eq '{external_ref}'")
        return f"{self.documents_path(type_code)}?$filter={expression}&$expand={ENTITIES[type_code][1]}"

    def only(self, external_ref: str, rows: Sequence[Mapping[str, Any]],
             type_code: DocumentType = "380") -> ErpDocumentRef | None:
        """The one document a look-up found, ``None``; two or more are a duplicate for a person to resolve."""
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} {ENTITIES[type_code][0]} carry externalDocumentNumber "
                                      f"{external_ref}: resolve the duplicate in BC")
        return self.ref_of(rows[0], type_code) if rows else None

    # -- protocol -------------------------------------------------------------------------------------------

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        rows = self._json("GET", f"{self.config.api_url}/{self.lookup_url(external_ref, type_code)}")["value"]
        return self.only(external_ref, rows, type_code)

    def find_all(self, external_ref: str, type_code: DocumentType = "380") -> list[ErpDocumentRef]:
        rows = self._json("GET", f"{self.config.api_url}/{self.lookup_url(external_ref, type_code)}")["value"]
        return [self.ref_of(row, type_code) for row in rows]

    def delete_draft(self, ref: ErpDocumentRef) -> None:
        """``DELETE salesInvoices({id})`` (or ``salesCreditMemos``) with the ETag we read: 204, and only a draft
        (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salesinvoice_delete)."""
        if ref.status != "draft":
            raise ErpRejected(TARGET, f"{ref.number or ref.erp_id} is posted: only drafts are deleted")
        self._json("DELETE", f"{self.config.api_url}/{self.documents_path(ref.type_code)}({ref.erp_id})",
                   headers={"If-Match": ref.version or "*"}, write=True)

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        created = self._json("POST", f"{self.config.api_url}/{self.documents_path(doc.type_code)}",
                             body=self.payload(doc), headers={"Content-Type": "application/json"}, write=True)
        return self.ref_of(created, doc.type_code)

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """One ``Isolation: snapshot`` batch: header PATCH with its ETag, then line deletes, PATCHes and POSTs
        matched on ``description2`` (our line key). A conflict rolls the whole batch back."""
        collection, lines = ENTITIES[doc.type_code][:2]
        base = f"{self.documents_path(doc.type_code)}({ref.erp_id})"
        current = self._json("GET", f"{self.config.api_url}/{base}?$expand={lines}")
        requests_: list[dict[str, Any]] = [{"method": "PATCH", "url": base, "body": self._header(doc),
                                            "headers": {"If-Match": current["@odata.etag"],
                                                        "Content-Type": "application/json"}}]
        have = {line.get("description2"): line for line in current.get(lines) or []}
        wanted = {line.ref(): self._line(line) for line in doc.lines}
        for key, line in have.items():
            if key not in wanted:
                requests_.append({"method": "DELETE", "url": f"{base}/{lines}({line['id']})",
                                  "headers": {"If-Match": line["@odata.etag"]}})
        for key, values in wanted.items():
            existing = have.get(key)
            if existing is None:
                requests_.append({"method": "POST", "url": f"{base}/{lines}", "body": values,
                                  "headers": {"Content-Type": "application/json"}})
            elif not _same_line(existing, values):
                requests_.append({"method": "PATCH", "url": f"{base}/{lines}({existing['id']})",
                                  "body": values, "headers": {"If-Match": existing["@odata.etag"],
                                                              "Content-Type": "application/json"}})
        if len(requests_) > MAX_BATCH:
            raise ErpRejected(TARGET, f"an update of {len(requests_)} operations exceeds one $batch")
        for answer in self.batch(requests_, snapshot=True, write=True):
            self._check(answer["status"], answer.get("headers") or {}, answer.get("body"), write=True)
        found = self.find(doc.external_ref, doc.type_code)
        if found is None:
            raise ErpOutcomeUnknown(TARGET, f"{doc.external_ref} vanished from {collection} during the update")
        return found

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        if ref.status == "posted":
            return ref
        self._json("POST", f"{self.config.api_url}/{self.documents_path(ref.type_code)}({ref.erp_id})"
                           "/Microsoft.NAV.post", write=True)
        found = self.find(ref.external_ref, ref.type_code)
        if found is None:
            raise ErpOutcomeUnknown(TARGET, f"{ref.external_ref} vanished after posting")
        return found

    # -- $batch ---------------------------------------------------------------------------------------------

    def batch(self, operations: Sequence[dict[str, Any]], *, snapshot: bool = False,
              write: bool = False) -> list[dict[str, Any]]:
        """Send ≤ 100 operations as one JSON ``$batch``; answers in request order. The envelope's own failure is
        raised; each operation's status is the caller's to check."""
        if len(operations) > MAX_BATCH:
            raise ValueError(f"a $batch takes at most {MAX_BATCH} operations")
        parts = [{"id": str(n), **op} for n, op in enumerate(operations)]
        headers = {"Content-Type": "application/json"}
        if snapshot:
            headers["Isolation"] = "snapshot"
        payload = self._json("POST", f"{self.config.api_url}/$batch", body={"requests": parts}, headers=headers,
                             write=write, cost=max(1, len(parts)))
        answers = {answer["id"]: answer for answer in payload["responses"]}
        return [answers[part["id"]] for part in parts]

    def export_many(self, docs: Iterable[InvoiceDocument], *, post: bool = False,
                    policy: RetryPolicy | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> dict[str, ExportResult | ErpError]:
        """Search-then-create in bulk; per document the same outcome as ``export_document`` (``bc_rest_bulk``)."""
        return export_many(self, docs, post=post, policy=policy, sleep=sleep)

    def answer_body(self, answer: Mapping[str, Any], write: bool) -> Any:
        """The body of one ``$batch`` answer, or its typed error."""
        self._check(answer["status"], answer.get("headers") or {}, answer.get("body"), write)
        return answer.get("body")


def _same_line(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return (existing.get("lineObjectNumber") == wanted["lineObjectNumber"]
            and existing.get("description") == wanted["description"]
            and _dec(existing.get("quantity")) == _dec(wanted["quantity"])
            and _dec(existing.get("unitPrice")) == _dec(wanted["unitPrice"])
            and ("taxCode" not in wanted or existing.get("taxCode") == wanted["taxCode"]))


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _error_of(body: Any) -> tuple[str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", ""


def _message(response: requests.Response) -> str:
    try:
        return _error_of(response.json())[1]
    except ValueError:
        return ""
