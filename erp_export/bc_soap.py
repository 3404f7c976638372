"""Business Central / NAV sales invoices through a SOAP page web service, with zeep (erp.md §1, §2).

Why WSDL-driven and configurable: Microsoft is removing SOAP for its own pages (v29), so at a customer the service is
a partner copy whose service name, binding, field names, lines part and post operation are configuration. The client
always uses ``create_service`` with the configured address (the WSDL's ``soap:address`` names the server's own host
and NAV double-encodes company names there), sets ``operation_timeout`` (zeep's default waits forever), and never
retries a write: zeep has no retries and a retried ``Create`` duplicates. ``find`` is ``ReadMultiple`` filtered on
``External_Document_No`` (plus the partner's posted-invoice look-up when posting is configured, because a posted
invoice leaves the Sales Invoice page).

Credit notes (type 381) are refused with a clear rejection: they belong on the Sales Credit Memo page, a second page
web service with its own WSDL and lines part that this adapter does not speak yet; sending one to the invoice page
would book a credit as a charge (its document amounts are positive), and BC refuses to post a negative invoice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from zeep.transports import Transport

from connectors.http import HttpPolicy, build_session
from connectors.retry import retry_after
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpConflict,
    ErpDocumentRef,
    ErpError,
    ErpOutcomeUnknown,
    ErpRejected,
    ErpUnavailable,
    Planning,
    transport_failure,
    vat_key,
)
from erp_export.documents import DocumentType, InvoiceDocument, InvoiceLine

TARGET = "bc_soap"


@dataclass(frozen=True)
class PageFields:
    """Names of the page's fields; a partner page may rename them (erp.md §1.1)."""

    customer: str = "Sell_to_Customer_No"
    external_ref: str = "External_Document_No"
    document_date: str = "Document_Date"
    posting_date: str = "Posting_Date"
    due_date: str = "Due_Date"
    currency: str = "Currency_Code"
    lines_part: str = "SalesLines"
    line_element: str = "Sales_Invoice_Line"
    line_type: str = "Type"
    line_no: str = "No"
    line_description: str = "Description"
    line_key: str = "Description_2"  # carries our deterministic line key
    quantity: str = "Quantity"
    unit_price: str = "Unit_Price"
    vat_group: str = "VAT_Prod_Posting_Group"
    total_net: str = "Total_Amount_Excl_VAT"
    total_vat: str = "Total_VAT_Amount"
    total_gross: str = "Total_Amount_Incl_VAT"


@dataclass(frozen=True)
class BcSoapConfig:
    """Everything the SOAP exporter needs. ``service_url`` is the page URL
    (``https://host:7047/<instance>/WS/<Company%20Name>/Page/SalesInvoice``); ``wsdl`` defaults to it."""

    service_url: str
    username: str | None = None  # Basic (on-prem NavUserPassword); without it a bearer token_provider is needed
    password: str | None = None  # web service access key; never logged
    service: str = "SalesInvoice"
    wsdl: str | None = None  # a local file path works offline
    binding: str | None = None  # default {urn:microsoft-dynamics-schemas/page/<service lower>}<service>_Binding
    fields: PageFields = PageFields()
    line_type: str = "G_L_Account"  # option value for licence/Azure lines without an item master
    vat_groups: Mapping[str, str] = field(default_factory=dict)  # vat_key ("S:21") -> VAT Prod. Posting Group
    local_currency: str | None = None  # BC leaves Currency Code blank for LCY
    one_shot_create: bool = True  # False: Create an empty header, then Update with lines (NAV 2009 pattern)
    post_operation: str | None = None  # partner codeunit op taking the header Key, e.g. "PostInvoice"
    posted_lookup_operation: str | None = None  # partner op: External_Document_No -> posted no. or ""
    verify: bool | str = True
    wsdl_timeout: float = 30.0
    operation_timeout: float = 120.0


class _Bearer(requests.auth.AuthBase):
    """A fresh bearer token on every request (the provider caches and renews it)."""

    def __init__(self, token_provider: Callable[[], str]) -> None:
        self.token_provider = token_provider

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token_provider()}"
        return request


class BcSoapExporter(Planning):
    """``ErpExporter`` for a BC/NAV SOAP Sales Invoice page: Basic with the web service key (on-prem), or an Entra
    bearer token from ``token_provider`` (BC online, where access keys stopped working in 2022)."""

    target = TARGET
    supports_update = True

    def __init__(self, config: BcSoapConfig, token_provider: Callable[[], str] | None = None,
                 on_unauthorized: Callable[[], None] | None = None) -> None:
        self.config = config
        self._session = build_session(TARGET, HttpPolicy(retries=0, verify=config.verify,
                                                         read_timeout=config.operation_timeout))
        if token_provider is not None:
            self._session.auth = _Bearer(token_provider)
        elif config.username and config.password:
            self._session.auth = requests.auth.HTTPBasicAuth(config.username, config.password)
        else:
            raise ValueError("BC SOAP needs username and password (web service key) or a token_provider")
        self._on_unauthorized = on_unauthorized
        self._session.hooks["response"].append(self._remember)
        self._last = threading.local()
        self._service: Any = None
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _remember(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """zeep's TransportError drops the headers; keep Retry-After of the last answer for this thread."""
        self._last.retry_after = retry_after(response.headers)
        self._last.status = response.status_code

    @property
    def namespace(self) -> str:
        return f"urn:microsoft-dynamics-schemas/page/{self.config.service.lower()}"

    def service(self) -> Any:
        """The zeep service proxy bound to the configured address (WSDL loaded once, field names checked)."""
        with self._lock:
            if self._service is None:
                transport = Transport(session=self._session, timeout=self.config.wsdl_timeout,
                                      operation_timeout=self.config.operation_timeout)
                try:
                    client = zeep.Client(self.config.wsdl or self.config.service_url, transport=transport)
                except requests.HTTPError as exc:  # zeep raises for the WSDL GET's status
                    status = exc.response.status_code if exc.response is not None else 500
                    raise self._transport_error(zeep.exceptions.TransportError(status_code=status)) from exc
                except requests.RequestException as exc:
                    raise transport_failure(TARGET, exc, write=False) from exc
                except zeep.exceptions.TransportError as exc:
                    raise self._transport_error(exc) from exc
                self._check_fields(client)
                binding = self.config.binding or f"{{{self.namespace}}}{self.config.service}_Binding"
                self._service = client.create_service(binding, self.config.service_url)
            return self._service

    def _check_fields(self, client: zeep.Client) -> None:
        """zeep validates no field names client-side (erp.md §2 pitfall 2): check ours against the page type now,
        so a renamed partner field fails at start-up with its name instead of silently filtering nothing."""
        f = self.config.fields
        try:
            header = client.get_type(f"{{{self.namespace}}}{self.config.service}")
            line = client.get_type(f"{{{self.namespace}}}{f.line_element}")
        except (LookupError, zeep.exceptions.LookupError) as exc:
            raise ErpRejected(TARGET, f"the WSDL has no page type: {exc}") from exc
        missing = [name for name in (f.customer, f.external_ref, f.posting_date, f.lines_part)
                   if name not in dict(header.elements)]
        missing += [name for name in (f.line_type, f.line_no, f.quantity, f.unit_price, f.line_key)
                    if name not in dict(line.elements)]
        if missing:
            raise ErpRejected(TARGET, f"page {self.config.service} lacks fields {', '.join(missing)}")

    def _transport_error(self, exc: zeep.exceptions.TransportError, write: bool = False) -> ErpError:
        status = exc.status_code
        if 200 <= status < 300:  # an answer that is not SOAP: we cannot tell what happened
            if write:
                return ErpOutcomeUnknown(TARGET, "unreadable answer to a write: look it up before retrying")
            return ErpUnavailable(TARGET, "unreadable answer")
        if status == 401 and self._on_unauthorized is not None:
            self._on_unauthorized()  # a bearer token the server refused: drop it, the next attempt gets a new one
            return ErpUnavailable(TARGET, "bearer token refused; renewed for the next attempt")
        if status in (401, 403):
            return ErpAuthenticationFailed(TARGET, "the web service refused the credentials", status=status)
        if status in (408, 429, 500, 502, 503, 504):
            return ErpUnavailable(TARGET, f"HTTP {status}", getattr(self._last, "retry_after", None))
        return ErpRejected(TARGET, f"HTTP {status}", status=status)

    def _call(self, operation: str, *, write: bool, **kwargs: Any) -> Any:
        service = self.service()
        try:
            return getattr(service, operation)(**kwargs)
        except zeep.exceptions.Fault as fault:
            message = fault.message or ""
            if not fault.code:  # an XML-ish error page (429/503 HTML) rather than a page fault
                raise self._transport_error(
                    zeep.exceptions.TransportError(status_code=getattr(self._last, "status", 500))) from fault
            if "Other user has modified" in message:
                raise ErpConflict(TARGET, message) from fault
            raise ErpRejected(TARGET, message, code=(fault.code or "").rsplit(".", 1)[-1]) from fault
        except zeep.exceptions.TransportError as exc:
            raise self._transport_error(exc, write) from exc
        except zeep.exceptions.ValidationError as exc:  # our payload does not fit the page's WSDL
            raise ErpRejected(TARGET, f"{operation}: {exc}", code="ValidationError") from exc
        except zeep.exceptions.XMLSyntaxError as exc:  # an answer that is not SOAP: we cannot tell what happened
            if write:
                raise ErpOutcomeUnknown(TARGET, f"{operation}: unreadable answer") from exc
            raise ErpUnavailable(TARGET, f"{operation}: unreadable answer") from exc
        except requests.RequestException as exc:
            raise transport_failure(TARGET, exc, write=write) from exc

    # -- mapping --------------------------------------------------------------------------------------------

    def _header(self, doc: InvoiceDocument) -> dict[str, Any]:
        f = self.config.fields
        header: dict[str, Any] = {
            f.customer: doc.buyer.erp_customer_number,
            f.external_ref: doc.external_ref,
            f.document_date: doc.issue_date,
            f.posting_date: doc.issue_date,
            f.due_date: doc.due_date,
        }
        if doc.currency != self.config.local_currency:
            header[f.currency] = doc.currency
        return header

    def _line(self, line: InvoiceLine, key: str | None = None) -> dict[str, Any]:
        f = self.config.fields
        values: dict[str, Any] = {
            f.line_type: self.config.line_type,
            f.line_no: line.account,
            f.line_description: line.description[:100],
            f.line_key: line.ref(),
            f.quantity: line.quantity,
            f.unit_price: line.unit_price,
            f.vat_group: self.config.vat_groups.get(vat_key(line.vat_category, line.vat_rate)),
        }
        if key:
            values["Key"] = key
        return values

    def _lines(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        return {self.config.fields.line_element: lines}

    def _ref(self, entity: Any) -> ErpDocumentRef:
        f = self.config.fields
        data = zeep.helpers.serialize_object(entity, dict)
        lines = self._entity_lines(data)
        first = lines[0] if lines else {}
        return ErpDocumentRef(
            erp_id=data["No"], external_ref=data.get(f.external_ref) or "", number=data["No"], status="draft",
            version=data["Key"], line_count=len(lines), total_net=_dec(first.get(f.total_net)),
            total_vat=_dec(first.get(f.total_vat)), total_gross=_dec(first.get(f.total_gross)),
        )

    def _entity_lines(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        part = data.get(self.config.fields.lines_part) or {}
        return list(part.get(self.config.fields.line_element) or [])

    # -- protocol -------------------------------------------------------------------------------------------

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        if type_code != "380":
            return None  # nothing of ours on a credit memo page: create refuses it with the reason
        found = self._call("ReadMultiple", write=False, setSize=2,
                           filter=[{"Field": self.config.fields.external_ref, "Criteria": external_ref}])
        rows = list(found or [])
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} sales invoices carry external document no. {external_ref}: "
                                      "resolve the duplicate in BC")
        if rows:
            return self._ref(rows[0])
        if self.config.posted_lookup_operation:
            posted = self._call(self.config.posted_lookup_operation, write=False,
                                **{self.config.fields.external_ref: external_ref})
            if posted:
                return ErpDocumentRef(erp_id=posted, external_ref=external_ref, number=posted, status="posted")
        return None

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        _invoices_only([doc])
        header = self._header(doc)
        if self.config.one_shot_create:
            header[self.config.fields.lines_part] = self._lines([self._line(line) for line in doc.lines])
            return self._ref(self._call("Create", write=True, **{self.config.service: header}))
        draft = self._ref(self._call("Create", write=True, **{self.config.service: header}))
        return self.update(draft, doc)

    def create_many(self, docs: list[InvoiceDocument]) -> list[ErpDocumentRef]:
        """``CreateMultiple``: all documents or none (one transaction in BC). Like ``create``, only for documents
        ``find`` just reported absent; an unknown outcome means: look every one of them up."""
        _invoices_only(docs)
        entities = [{**self._header(doc), self.config.fields.lines_part: self._lines(
            [self._line(line) for line in doc.lines])} for doc in docs]
        created = self._call("CreateMultiple", write=True,
                             **{f"{self.config.service}_List": {self.config.service: entities}})
        return [self._ref(entity) for entity in created or []]

    def read(self, number: str) -> dict[str, Any]:
        entity = self._call("Read", write=False, No=number)
        if entity is None:
            raise ErpConflict(TARGET, f"sales invoice {number} disappeared")
        return zeep.helpers.serialize_object(entity, dict)

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """Complete a partial draft or bring a changed one in line: delete lines we no longer have, update changed
        ones by their ``Key``, append new ones; re-read first because every line change bumps the header ``Key``."""
        f = self.config.fields
        current = self._entity_lines(self.read(ref.erp_id))
        wanted = {line.ref(): line for line in doc.lines}
        for line in current:
            if line.get(f.line_key) not in wanted:
                self._call("Delete_SalesLines", write=True, SalesLines_Key=line["Key"])
        data = self.read(ref.erp_id)
        have = {line.get(f.line_key): line for line in self._entity_lines(data)}
        lines = []
        for key, line in wanted.items():
            existing = have.get(key)
            if existing is None:
                lines.append(self._line(line))
            elif not _same_line(existing, self._line(line), f):
                lines.append(self._line(line, existing["Key"]))
        entity = {"Key": data["Key"], **self._header(doc)}
        if lines:
            entity[f.lines_part] = self._lines(lines)
        return self._ref(self._call("Update", write=True, **{self.config.service: entity}))

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        if ref.status == "posted":
            return ref
        if not self.config.post_operation:
            raise ErpRejected(TARGET, "posting over SOAP needs a partner codeunit operation (post_operation)")
        posted = self._call(self.config.post_operation, write=True, Key=ref.version)
        return ErpDocumentRef(erp_id=posted, external_ref=ref.external_ref, number=posted, status="posted",
                              line_count=ref.line_count, total_net=ref.total_net, total_vat=ref.total_vat,
                              total_gross=ref.total_gross)


def _invoices_only(docs: list[InvoiceDocument]) -> None:
    credit = next((doc for doc in docs if doc.type_code != "380"), None)
    if credit is not None:
        raise ErpRejected(TARGET, f"{credit.invoice_number} is a credit note (type {credit.type_code}): the SOAP "
                                  "adapter speaks the Sales Invoice page only; export credit notes with bc_rest "
                                  "(salesCreditMemos) or enter it in BC as a sales credit memo")


def _same_line(existing: Mapping[str, Any], wanted: Mapping[str, Any], f: PageFields) -> bool:
    compared = [f.line_no, f.line_description, f.quantity, f.unit_price]
    if wanted.get(f.vat_group):  # without a configured group BC picks its default: nothing to compare
        compared.append(f.vat_group)
    return all(
        (_dec(existing.get(name)) == _dec(wanted.get(name))) if name in (f.quantity, f.unit_price)
        else (existing.get(name) or None) == (wanted.get(name) or None)
        for name in compared
    )


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))

