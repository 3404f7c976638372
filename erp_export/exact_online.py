"""Exact Online sales entries (or item-based sales invoices) over its REST API (erp.md §4).

Why it looks like this:
- OAuth lives in ``erp_export.exact_oauth`` (single-use refresh tokens, "a person must connect again").
- Limits are per division: 60 calls a minute and a daily budget, announced on every answer in ``X-RateLimit-*``
  headers with resets in epoch milliseconds. We pace on those headers instead of learning the limit from 429s, and
  never sleep for the daily reset (that is the scheduler's job): it becomes ``ErpUnavailable`` with the wait.
- 4xx answers count against a 10-errors-an-hour budget, so existence checks use ``$filter`` (200 + empty list), never
  GET-by-id probes; GET by guid only re-reads a document we know exists (after an update).
- ``__next`` paging links are absolute URLs on the live API: followed only on the configured host.
- Exact computes VAT per line; we send ``VATAmountFC`` per line, allocated from our per-rate VAT (BR-CO-17), so the
  entry's VAT equals the invoice's.
- A credit note is ``Type`` 21 (sales entry) or 8021 (item invoice) with its amounts and quantities *negative*: in
  Exact the type does not flip signs, a credit note's amounts are booked as entered (a negative entry credits the
  receivable). The document states a credit note positively (EN 16931), so the mapping negates it on the way in and
  reads Exact's totals back into the document's convention.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from connectors.http import HttpPolicy, build_session
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpDocumentRef,
    ErpOutcomeUnknown,
    ErpRejected,
    ErpUnavailable,
    Planning,
    transport_failure,
    vat_key,
)
from erp_export.documents import DocumentType, InvoiceDocument, InvoiceLine, minor_unit
from erp_export.exact_oauth import ExactConfig, ExactOAuth

TARGET = "exact_online"
__all__ = ["ExactConfig", "ExactOnlineExporter", "allocate_vat", "exact_sign"]
CREDIT_TYPES = (21, 8021)  # sales entry credit note, item invoice credit note


@dataclass
class RateLimits:
    """The last ``X-RateLimit-*`` figures seen (resets as Unix seconds)."""

    minutely_remaining: int | None = None
    minutely_reset: float | None = None
    daily_remaining: int | None = None
    daily_reset: float | None = None

    def update(self, headers: Mapping[str, str]) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name)
            return int(value) if value and value.lstrip("-").isdigit() else None

        if (remaining := number("X-RateLimit-Minutely-Remaining")) is not None:
            self.minutely_remaining = remaining
            self.minutely_reset = (number("X-RateLimit-Minutely-Reset") or 0) / 1000
        if (remaining := number("X-RateLimit-Remaining")) is not None:
            self.daily_remaining = remaining
            self.daily_reset = (number("X-RateLimit-Reset") or 0) / 1000

    def wait(self, now: float) -> tuple[float, str] | None:
        """Seconds to wait before the next call, and which limit says so; ``None`` when a call may go now."""
        if self.daily_remaining == 0 and self.daily_reset and self.daily_reset > now:
            return self.daily_reset - now, "daily"
        if self.minutely_remaining == 0 and self.minutely_reset and self.minutely_reset > now:
            return self.minutely_reset - now, "minutely"
        return None


class ExactOnlineExporter(Planning):
    """``ErpExporter`` for Exact Online; ``YourRef`` carries our external reference."""

    target = TARGET
    supports_update = True

    def __init__(self, config: ExactConfig, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.limits = RateLimits()
        self._sleep = sleep
        self._clock = clock
        self._session = build_session(TARGET, HttpPolicy(retries=0, verify=config.verify,
                                                         read_timeout=config.timeout))
        self.oauth = ExactOAuth(config, self._session, clock)
        self.store = self.oauth.store
        self._ids: dict[tuple[str, str], str] = {}
        self._division = config.division
        self._lock = threading.Lock()
        invoices = config.document_kind == "SalesInvoices"
        self._service = "salesinvoice" if invoices else "salesentry"
        self._entity = config.document_kind
        self._lines_entity = "SalesInvoiceLines" if invoices else "SalesEntryLines"
        self._id = "InvoiceID" if invoices else "EntryID"
        self._number = "InvoiceNumber" if invoices else "EntryNumber"

    # -- OAuth (erp_export.exact_oauth) -------------------------------------------------------------------

    def authorise(self, code: str, redirect_uri: str) -> None:
        """Exchange a (single-use) authorisation code and seed the token store."""
        self.oauth.authorise(code, redirect_uri)

    def access_token(self, stale: str | None = None) -> str:
        return self.oauth.access_token(stale)

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _pace(self) -> None:
        pending = self.limits.wait(self._clock())
        if pending is None:
            return
        seconds, which = pending
        if which == "daily" or seconds > self.config.max_pacing_wait:
            raise ErpUnavailable(TARGET, f"{which} API limit used up", retry_after=seconds)
        self._sleep(seconds)

    def _request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                 body: Any = None, write: bool = False) -> Any:
        url = urljoin(self.config.base_url, path)
        if params:
            url += "?" + urlencode(params, quote_via=quote, safe="$,'()")
        token = self.access_token()
        for attempt in (1, 2):
            self._pace()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                       "Prefer": "return=representation"}
            try:
                response = self._session.request(method, url, json=body, headers=headers)
            except requests.RequestException as exc:
                raise transport_failure(TARGET, exc, write=write) from exc
            self.limits.update(response.headers)
            if response.status_code == 401 and attempt == 1:  # not applied: refresh (once) and resend
                token = self.access_token(stale=token)
                continue
            if response.status_code == 429 and attempt == 1:  # not applied: _pace waits for the reset it announced
                continue
            return self._answer(response, write)
        raise ErpAuthenticationFailed(TARGET, "access token refused right after a refresh", status=401)

    def _answer(self, response: requests.Response, write: bool) -> Any:
        status = response.status_code
        if status in (200, 201):
            try:
                return response.json(parse_float=Decimal) if response.content else None
            except ValueError:  # a success we cannot read: for a write, the outcome is unknown
                raise (ErpOutcomeUnknown if write else ErpUnavailable)(TARGET, "unreadable answer") from None
        if status == 204:
            return None
        message = _error_message(response)
        if status == 429:
            wait = self.limits.wait(self._clock())
            raise ErpUnavailable(TARGET, f"throttled: {message}", retry_after=wait[0] if wait else None)
        if status == 504 and write:
            raise ErpOutcomeUnknown(TARGET, "gateway timeout on a write: look it up before retrying")
        if status >= 500 and not (write and message):  # Exact sends some validation errors as 500
            raise ErpUnavailable(TARGET, f"HTTP {status}: {message or 'no detail'}")
        if status in (401, 403):
            raise ErpAuthenticationFailed(TARGET, message or f"HTTP {status}", status=status)
        raise ErpRejected(TARGET, message or f"HTTP {status}", status=status)

    def _results(self, path: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """All pages of a collection: ``__next`` is an absolute URL on the live API, followed only on our host (the
        bearer token goes with it)."""
        rows: list[dict[str, Any]] = []
        payload = self._request("GET", path, params=params)
        while True:
            data = payload["d"]
            rows.extend(data["results"] if isinstance(data, dict) else data)
            following = data.get("__next") if isinstance(data, dict) else None
            if not following:
                return rows
            payload = self._request("GET", self._own_link(str(following)))

    def _own_link(self, link: str) -> str:
        own, other = urlsplit(self.config.base_url), urlsplit(urljoin(self.config.base_url, link))
        if (other.scheme, other.netloc.lower()) != (own.scheme, own.netloc.lower()):
            raise ForeignLink(TARGET, f"__next link to {other.scheme}://{other.netloc} refused: only "
                                      f"{own.scheme}://{own.netloc} is configured", code="foreign_next_link")
        return link

    def division(self) -> int:
        with self._lock:
            if self._division is None:
                me = self._request("GET", "/api/v1/current/Me")
                self._division = int(me["d"]["results"][0]["CurrentDivision"])
            return self._division

    def _api(self, resource: str) -> str:
        return f"/api/v1/{self.division()}/{resource}"

    def resource(self, method: str, resource: str, *, params: Mapping[str, str] | None = None,
                 body: Any = None) -> Any:
        """One call on ``/api/v1/{division}/{resource}`` (every page of a GET; a write otherwise), for the cash entry
        adapter (``erp_export.exact_payments``); ``customer`` names its ``crm/Accounts`` look-up."""
        if method == "GET":
            return self._results(self._api(resource), params or {})
        return self._request(method, self._api(resource), body=body, write=True)

    def customer(self, code: str) -> str:
        return self._id_of("crm/Accounts", code, "customer")

    def _id_of(self, resource: str, code: str, what: str) -> str:
        cached = self._ids.get((resource, code))
        if cached:
            return cached
        rows = self._results(self._api(resource), {"$filter": f"Code eq '{code}'", "$select": "ID,Code"})
        if not rows:
            raise ErpRejected(TARGET, f"{what} {code!r} does not exist in Exact division {self.division()}")
        self._ids[(resource, code)] = rows[0]["ID"]
        return rows[0]["ID"]

    # -- mapping --------------------------------------------------------------------------------------------

    def _vat_code(self, line: InvoiceLine) -> str:
        key = vat_key(line.vat_category, line.vat_rate)
        if key not in self.config.vat_codes:
            raise ErpRejected(TARGET, f"no Exact VAT code configured for {key} (line {line.key})")
        return self.config.vat_codes[key]

    def _line(self, doc: InvoiceDocument, line: InvoiceLine, vat: Mapping[str, Decimal],
              document_id: str | None = None) -> dict[str, Any]:
        sign = exact_sign(doc)
        common = {"Description": line.description[:60], "Quantity": str(sign * line.quantity),
                  "VATCode": self._vat_code(line), "Notes": line.key}
        if self.config.document_kind == "SalesInvoices":
            values = {**common, "Item": self._id_of("logistics/Items", line.account, "item"),
                      "NetPrice": str(line.unit_price), "StartTime": line.period_start.isoformat(),
                      "EndTime": line.period_end.isoformat()}
        else:
            values = {**common, "GLAccount": self._id_of("financial/GLAccounts", line.account, "G/L account"),
                      "AmountFC": str(sign * line.net_amount), "VATAmountFC": str(sign * vat[line.key]),
                      "From": line.period_start.isoformat(), "To": line.period_end.isoformat()}
        if document_id:
            values[self._id] = document_id
        return values

    def _header(self, doc: InvoiceDocument) -> dict[str, Any]:
        customer = self._id_of("crm/Accounts", doc.buyer.erp_customer_number, "customer")
        header: dict[str, Any] = {
            "Journal": doc.extra.get("exact_journal", self.config.journal), "Currency": doc.currency,
            "Description": (doc.note or f"Invoice {doc.invoice_number}")[:60], "YourRef": doc.external_ref,
            "DueDate": doc.due_date.isoformat() if doc.due_date else None,
        }
        credit = doc.type_code == "381"
        if self.config.document_kind == "SalesInvoices":
            header.update(OrderedBy=customer, InvoiceTo=customer, InvoiceDate=doc.issue_date.isoformat(),
                          Type=8021 if credit else 8020)
        else:
            header.update(Customer=customer, EntryDate=doc.issue_date.isoformat(), Type=21 if credit else 20,
                          ReportingYear=doc.issue_date.year, ReportingPeriod=doc.issue_date.month)
        return header

    def _ref(self, row: Mapping[str, Any], lines: list[dict[str, Any]]) -> ErpDocumentRef:
        """Exact's document in our terms; a credit note's (negative) totals read back as the document states them."""
        sign = Decimal(-1) if row.get("Type") in CREDIT_TYPES else Decimal(1)
        gross = _dec(row.get("AmountFC"))
        vat = _dec(row.get("VATAmountFC"))
        return ErpDocumentRef(
            erp_id=row[self._id], external_ref=row.get("YourRef") or "", number=str(row.get(self._number)),
            status="posted" if row.get("Status") == 50 else "draft", line_count=len(lines),
            total_net=sign * sum((_dec(ln.get("AmountFC")) or Decimal(0) for ln in lines), Decimal(0)),
            total_vat=None if vat is None else sign * vat, total_gross=None if gross is None else sign * gross,
            type_code="381" if sign < 0 else "380",
        )

    def _lines_of(self, document_id: str) -> list[dict[str, Any]]:
        return self._results(self._api(f"{self._service}/{self._lines_entity}"), {
            "$filter": f"{self._id} eq guid'{document_id}'",
            "$select": "ID,AmountFC,VATAmountFC,Notes,Description,Quantity"
                       + (",NetPrice" if self.config.document_kind == "SalesInvoices" else "")})

    # -- protocol -------------------------------------------------------------------------------------------

    def _by_ref(self, external_ref: str) -> list[dict[str, Any]]:
        return self._results(self._api(f"{self._service}/{self._entity}"), {
            "$filter": f"YourRef eq '{external_ref}'",
            "$select": f"{self._id},{self._number},YourRef,AmountFC,VATAmountFC,Status,Type"})

    def find_all(self, external_ref: str, type_code: DocumentType = "380") -> list[ErpDocumentRef]:
        """Every entry with this ``YourRef``: one call, no lines read (the sweep needs ids and states, not totals)."""
        return [replace(self._ref(row, []), total_net=None) for row in self._by_ref(external_ref)]

    def delete_draft(self, ref: ErpDocumentRef) -> None:
        """``DELETE …(guid'<id>')`` → 204 (erp.md §4.1); only an entry that is not processed (Status 50)."""
        if ref.status != "draft":
            raise ErpRejected(TARGET, f"{ref.number or ref.erp_id} is processed: only open entries are deleted")
        self._request("DELETE", self._api(f"{self._service}/{self._entity}(guid'{ref.erp_id}')"), write=True)

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        """By ``YourRef`` among all entries (invoices and credit notes share the journal and the look-up)."""
        rows = self._by_ref(external_ref)
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} documents carry YourRef {external_ref}: resolve it in Exact")
        return self._ref(rows[0], self._lines_of(rows[0][self._id])) if rows else None

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        vat = allocate_vat(doc)
        body = self._header(doc)
        body[self._lines_entity] = [self._line(doc, line, vat) for line in doc.lines]
        created = self._request("POST", self._api(f"{self._service}/{self._entity}"), body=body, write=True)["d"]
        inline = created.get(self._lines_entity)
        if isinstance(inline, dict) and isinstance(inline.get("results"), list):
            return self._ref(created, inline["results"])
        # Lines come back deferred: the create was atomic and answered 201, so they are the ones we sent; saving the
        # read-back halves the calls per invoice under the 60-a-minute limit.
        return self._ref(created, [{"AmountFC": exact_sign(doc) * line.net_amount} for line in doc.lines])

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """PUT cannot carry lines: add the new and changed lines first, then delete the obsolete ones, so the
        entry never loses its last line (which would delete it)."""
        vat = allocate_vat(doc)
        path = self._api(f"{self._service}/{self._entity}(guid'{ref.erp_id}')")
        self._request("PUT", path, body=self._header(doc), write=True)
        current = self._lines_of(ref.erp_id)
        have = {ln.get("Notes"): ln for ln in current}
        keep: set[str] = set()
        for line in doc.lines:
            existing = have.get(line.key)
            wanted = self._line(doc, line, vat, ref.erp_id)
            if existing is not None and _same(existing, wanted):
                keep.add(existing["ID"])
                continue
            self._request("POST", self._api(f"{self._service}/{self._lines_entity}"), body=wanted, write=True)
        for existing in current:
            if existing["ID"] not in keep:
                self._request("DELETE", self._api(f"{self._service}/{self._lines_entity}(guid'{existing['ID']}')"),
                              write=True)
        return self.read(ref.erp_id, doc.external_ref)

    def read(self, erp_id: str, external_ref: str) -> ErpDocumentRef:
        """One document by its guid (``…(guid'<id>')``) with its lines: the re-read after an update."""
        try:
            row = self._request("GET", self._api(f"{self._service}/{self._entity}(guid'{erp_id}')"), params={
                "$select": f"{self._id},{self._number},YourRef,AmountFC,VATAmountFC,Status,Type"})["d"]
        except ErpRejected as exc:
            if exc.status == 404:
                raise ErpOutcomeUnknown(TARGET, f"{external_ref} vanished during the update") from exc
            raise
        row = row["results"][0] if isinstance(row.get("results"), list) else row
        return self._ref(row, self._lines_of(erp_id))

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        """Sales entries are booked on create; item invoices are processed in Exact (no documented API)."""
        if self.config.document_kind == "SalesEntries":
            return ref
        raise ErpRejected(TARGET, "processing SalesInvoices over the API is not supported: process them in Exact")


class ForeignLink(ErpRejected):
    """A paging link that leaves the configured host: never followed (it would carry our bearer token)."""


def exact_sign(doc: InvoiceDocument) -> Decimal:
    """-1 for a credit note, whose amounts Exact books negative; 1 for an invoice."""
    return Decimal(-1) if doc.type_code == "381" else Decimal(1)


def allocate_vat(doc: InvoiceDocument) -> dict[str, Decimal]:
    """Per-line VAT whose sum per (category, rate) is exactly the invoice's BT-117 (largest remainder)."""
    step = minor_unit(doc.currency)
    result: dict[str, Decimal] = {}
    for row in doc.vat_breakdown:
        lines = [ln for ln in doc.lines if (ln.vat_category, ln.vat_rate) == (row.category, row.rate)]
        shares = {ln.key: (ln.net_amount * row.rate / 100).quantize(step, ROUND_HALF_UP) for ln in lines}
        rest = row.tax_amount - sum(shares.values(), Decimal(0))
        for ln in sorted(lines, key=lambda item: abs(item.net_amount), reverse=True):
            if rest == 0:
                break
            nudge = step if rest > 0 else -step
            shares[ln.key] += nudge
            rest -= nudge
        result.update(shares)
    return result


def _same(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    compared = [name for name in ("AmountFC", "VATAmountFC", "Quantity", "NetPrice") if name in wanted]
    return all(_dec(existing.get(name)) == _dec(wanted.get(name)) for name in compared) and existing.get(
        "Description") == wanted.get("Description")


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        return str(message.get("value", "") if isinstance(message, dict) else message or "")
    return ""
