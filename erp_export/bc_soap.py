"""Business Central / NAV sales invoices and sales credit memos through SOAP page web services, with zeep (erp.md
§1, §2).

Why WSDL-driven and configurable: Microsoft is removing SOAP for its own pages (v29), so at a customer the service is
a partner copy whose service name, binding, field names, lines part and post operation are configuration. The client
always uses ``create_service`` with the configured address (the WSDL's ``soap:address`` names the server's own host
and NAV double-encodes company names there), sets ``operation_timeout`` (zeep's default waits forever), and never
retries a write: zeep has no retries and a retried ``Create`` duplicates. ``find`` is ``ReadMultiple`` filtered on
``External_Document_No`` (plus the posting codeunit's look-up when one is configured, because a posted document
leaves its page). Posting goes through that codeunit web service (``bc_soap_codeunit``): standard pages cannot post.

A credit note (type 381) goes to the Sales Credit Memo page, a second page service published next to the invoice
one (``bc_soap_pages``): look-up, create, update and posting work there the same way (the codeunit's functions take
the document type), its amounts positive as the document states them, and ``Applies-to Doc. No.`` set to the
corrected invoice's posted number when the codeunit's look-up finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
)
from erp_export.bc_soap_codeunit import DOCUMENT_TYPES, PostCodeunit
from erp_export.bc_soap_pages import CREDIT_MEMO_FIELDS, INVOICE_FIELDS, PageFields, SoapPage, sibling_url
from erp_export.documents import DocumentType, InvoiceDocument

TARGET = "bc_soap"
SWEEP_SET_SIZE = 20  # the duplicate sweep reads this many copies of one external document no. at most


@dataclass(frozen=True)
class BcSoapConfig:
    """Everything the SOAP exporter needs. ``service_url`` is the invoice page URL
    (``https://host:7047/<instance>/WS/<Company%20Name>/Page/SalesInvoice``); ``wsdl`` defaults to it. The credit
    memo page is published next to it as ``credit_memo_service`` unless ``credit_memo_url`` says otherwise."""

    service_url: str
    username: str | None = None  # Basic (on-prem NavUserPassword); without it a bearer token_provider is needed
    password: str | None = None  # web service access key; never logged
    service: str = "SalesInvoice"
    wsdl: str | None = None  # a local file path works offline
    binding: str | None = None  # default {urn:microsoft-dynamics-schemas/page/<service lower>}<service>_Binding
    fields: PageFields = INVOICE_FIELDS
    line_type: str = "G_L_Account"  # option value for licence/Azure lines without an item master
    vat_groups: Mapping[str, str] = field(default_factory=dict)  # vat_key ("S:21") -> VAT Prod. Posting Group
    local_currency: str | None = None  # BC leaves Currency Code blank for LCY
    one_shot_create: bool = True  # False: Create an empty header, then Update with lines (NAV 2009 pattern)
    post_codeunit: PostCodeunit | None = None  # the partner codeunit service that posts; None: no posting
    credit_memo_service: str = "SalesCreditMemo"
    credit_memo_url: str | None = None  # default: service_url with the credit memo service as its last segment
    credit_memo_wsdl: str | None = None
    credit_memo_binding: str | None = None
    credit_memo_fields: PageFields = CREDIT_MEMO_FIELDS
    verify: bool | str = True
    wsdl_timeout: float = 30.0
    operation_timeout: float = 120.0

    def pages(self) -> dict[str, SoapPage]:
        """The page of each document type: sales invoice (380), sales credit memo (381)."""
        common: dict[str, Any] = {"line_type": self.line_type, "vat_groups": self.vat_groups,
                                  "local_currency": self.local_currency}
        invoice = SoapPage("380", "sales invoice", self.service, self.service_url, self.fields, self.wsdl,
                           self.binding, **common)
        url = self.credit_memo_url or sibling_url(self.service_url, self.credit_memo_service)
        credit = SoapPage("381", "sales credit memo", self.credit_memo_service, url, self.credit_memo_fields,
                          self.credit_memo_wsdl, self.credit_memo_binding, **common)
        return {"380": invoice, "381": credit}


class _Bearer(requests.auth.AuthBase):
    """A fresh bearer token on every request (the provider caches and renews it)."""

    def __init__(self, token_provider: Callable[[], str]) -> None:
        self.token_provider = token_provider

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token_provider()}"
        return request


class BcSoapExporter(Planning):
    """``ErpExporter`` for the BC/NAV SOAP Sales Invoice and Sales Credit Memo pages: Basic with the web service key
    (on-prem), or an Entra bearer token from ``token_provider`` (BC online, where access keys stopped working in
    2022)."""

    target = TARGET
    supports_update = True

    def __init__(self, config: BcSoapConfig, token_provider: Callable[[], str] | None = None,
                 on_unauthorized: Callable[[], None] | None = None) -> None:
        self.config = config
        self.pages = config.pages()
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
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _remember(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """zeep's TransportError drops the headers; keep Retry-After of the last answer for this thread."""
        self._last.retry_after = retry_after(response.headers)
        self._last.status = response.status_code

    @property
    def namespace(self) -> str:
        return self.pages["380"].namespace

    def service(self, type_code: DocumentType = "380") -> Any:
        """The zeep service proxy of the page for ``type_code``, bound to the configured address (WSDL loaded once
        per page, when the first document of its type comes, field names checked)."""
        page = self.pages[type_code]
        return self._proxy(type_code, page.wsdl or page.url, page.binding_qname, page.url,
                           f"page service {page.service}", lambda client: _check_fields(client, page))

    def codeunit(self) -> Any:
        """The zeep service proxy of the posting codeunit (``ErpRejected`` when none is configured)."""
        unit = self.config.post_codeunit
        if unit is None:
            raise ErpRejected(TARGET, "posting over SOAP needs a partner codeunit web service (erp.post_codeunit): "
                                      "standard BC pages have no Post operation")
        address = unit.address(self.config.service_url)
        return self._proxy("codeunit", unit.wsdl or address, unit.binding_qname, address,
                           f"codeunit service {unit.service}", lambda client: None)

    def _proxy(self, name: str, wsdl: str, binding: str, address: str, what: str,
               check: Callable[[zeep.Client], None]) -> Any:
        with self._lock:
            if name not in self._services:
                transport = Transport(session=self._session, timeout=self.config.wsdl_timeout,
                                      operation_timeout=self.config.operation_timeout)
                try:
                    client = zeep.Client(wsdl, transport=transport)
                except requests.HTTPError as exc:  # zeep raises for the WSDL GET's status
                    status = exc.response.status_code if exc.response is not None else 500
                    raise self._wsdl_error(what, address, zeep.exceptions.TransportError(status_code=status)) \
                        from exc
                except requests.RequestException as exc:
                    raise transport_failure(TARGET, exc, write=False) from exc
                except zeep.exceptions.TransportError as exc:
                    raise self._wsdl_error(what, address, exc) from exc
                check(client)
                self._services[name] = client.create_service(binding, address)
            return self._services[name]

    def _wsdl_error(self, what: str, address: str, exc: zeep.exceptions.TransportError) -> ErpError:
        if exc.status_code == 404:  # not published (under that name) in this company
            return ErpRejected(TARGET, f"no {what} at {address}: publish it as a web service under that name",
                               status=404)
        return self._transport_error(exc)

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

    def _call(self, operation: str, *, write: bool, type_code: DocumentType = "380", codeunit: bool = False,
              **kwargs: Any) -> Any:
        service = self.codeunit() if codeunit else self.service(type_code)
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

    def _find_posted(self, page: SoapPage, external_ref: str) -> str | None:
        """The posted number of our document ``external_ref`` of ``page``'s type (the codeunit's look-up), ``None``
        without a posting codeunit or a posted document."""
        unit = self.config.post_codeunit
        if unit is None:
            return None
        posted = self._call(unit.posted_lookup_operation, write=False, codeunit=True,
                            **{unit.type_parameter: DOCUMENT_TYPES[page.type_code],
                               unit.external_parameter: external_ref})
        return posted or None

    def applies_to(self, doc: InvoiceDocument) -> str | None:
        """For a credit note: the posted sales invoice it corrects, by that invoice's external document number, so
        BC applies the credit memo to it on posting; ``None`` when we cannot know it (no reference, or not posted)."""
        preceding = doc.preceding_invoice
        if doc.type_code != "381" or preceding is None or not preceding.external_ref:
            return None
        return self._find_posted(self.pages["380"], preceding.external_ref)

    # -- protocol -------------------------------------------------------------------------------------------

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        page = self.pages[type_code]
        found = self._call("ReadMultiple", write=False, type_code=type_code, setSize=2,
                           filter=[{"Field": page.fields.external_ref, "Criteria": external_ref}])
        rows = list(found or [])
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} {page.label}s carry external document no. {external_ref}: "
                                      "resolve the duplicate in BC")
        if rows:
            return page.ref(rows[0])
        posted = self._find_posted(page, external_ref)
        if posted:
            return ErpDocumentRef(erp_id=posted, external_ref=external_ref, number=posted, status="posted",
                                  type_code=type_code)
        return None

    def find_all(self, external_ref: str, type_code: DocumentType = "380") -> list[ErpDocumentRef]:
        """Every draft on the page with this external document no., plus the posted one the partner look-up names
        (it returns one number, so two posted copies show as one: those only the ERP's own reports reveal)."""
        page = self.pages[type_code]
        found = self._call("ReadMultiple", write=False, type_code=type_code, setSize=SWEEP_SET_SIZE,
                           filter=[{"Field": page.fields.external_ref, "Criteria": external_ref}])
        refs = [page.ref(row) for row in found or []]
        posted = self._find_posted(page, external_ref)
        if posted:
            refs.append(ErpDocumentRef(erp_id=posted, external_ref=external_ref, number=posted, status="posted",
                                       type_code=type_code))
        return refs

    def delete_draft(self, ref: ErpDocumentRef) -> None:
        """The page's ``Delete(Key)`` operation (erp.md §1; BC docs webservices/delete-operation): true when deleted."""
        if ref.status != "draft" or not ref.version:
            raise ErpRejected(TARGET, f"{ref.number or ref.erp_id} is posted: only drafts are deleted")
        if not self._call("Delete", write=True, type_code=ref.type_code, Key=ref.version):
            raise ErpRejected(TARGET, f"{self.pages[ref.type_code].label} {ref.erp_id} was not deleted")

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        page = self.pages[doc.type_code]
        applies_to = self.applies_to(doc)
        if self.config.one_shot_create:
            return page.ref(self._call("Create", write=True, type_code=doc.type_code,
                                       **{page.service: page.entity(doc, applies_to)}))
        draft = page.ref(self._call("Create", write=True, type_code=doc.type_code,
                                    **{page.service: page.header(doc, applies_to)}))
        return self.update(draft, doc)

    def create_many(self, docs: list[InvoiceDocument]) -> list[ErpDocumentRef]:
        """``CreateMultiple``: all documents or none (one transaction in BC), so all of one page: invoices or credit
        notes. Like ``create``, only for documents ``find`` just reported absent; an unknown outcome means: look
        every one of them up."""
        kinds = {doc.type_code for doc in docs}
        if len(kinds) > 1:
            raise ErpRejected(TARGET, "CreateMultiple writes one page: pass invoices and credit notes apart")
        page = self.pages[kinds.pop() if kinds else "380"]
        entities = [page.entity(doc, self.applies_to(doc)) for doc in docs]
        created = self._call("CreateMultiple", write=True, type_code=page.type_code,
                             **{f"{page.service}_List": {page.service: entities}})
        return [page.ref(entity) for entity in created or []]

    def read(self, number: str, type_code: DocumentType = "380") -> dict[str, Any]:
        entity = self._call("Read", write=False, type_code=type_code, No=number)
        if entity is None:
            raise ErpConflict(TARGET, f"{self.pages[type_code].label} {number} disappeared")
        return zeep.helpers.serialize_object(entity, dict)

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """Complete a partial draft or bring a changed one in line: delete lines we no longer have, update changed
        ones by their ``Key``, append new ones; re-read first because every line change bumps the header ``Key``."""
        page, kind = self.pages[doc.type_code], doc.type_code
        f = page.fields
        current = page.entity_lines(self.read(ref.erp_id, kind))
        wanted = {line.ref(): line for line in doc.lines}
        for line in current:
            if line.get(f.line_key) not in wanted:
                self._call("Delete_SalesLines", write=True, type_code=kind, SalesLines_Key=line["Key"])
        data = self.read(ref.erp_id, kind)
        have = {line.get(f.line_key): line for line in page.entity_lines(data)}
        lines = []
        for key, line in wanted.items():
            existing = have.get(key)
            if existing is None:
                lines.append(page.line(line))
            elif not page.same_line(existing, page.line(line)):
                lines.append(page.line(line, existing["Key"]))
        entity = {"Key": data["Key"], **page.header(doc, self.applies_to(doc))}
        if lines:
            entity[f.lines_part] = page.lines(lines)
        return page.ref(self._call("Update", write=True, type_code=kind, **{page.service: entity}))

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        if ref.status == "posted":
            return ref
        unit = self.config.post_codeunit
        if unit is None:
            raise ErpRejected(TARGET, f"posting a {self.pages[ref.type_code].label} over SOAP needs a partner "
                                      "codeunit web service (erp.post_codeunit)")
        posted = self._call(unit.post_operation, write=True, codeunit=True, **{unit.key_parameter: ref.version})
        return ErpDocumentRef(erp_id=posted, external_ref=ref.external_ref, number=posted, status="posted",
                              line_count=ref.line_count, total_net=ref.total_net, total_vat=ref.total_vat,
                              total_gross=ref.total_gross, type_code=ref.type_code)


def _check_fields(client: zeep.Client, page: SoapPage) -> None:
    """zeep validates no field names client-side (erp.md §2 pitfall 2): check ours against the page type now, so a
    renamed partner field fails at start-up with its name instead of silently filtering nothing."""
    try:
        header = client.get_type(f"{{{page.namespace}}}{page.service}")
        line = client.get_type(f"{{{page.namespace}}}{page.fields.line_element}")
    except (LookupError, zeep.exceptions.LookupError) as exc:
        raise ErpRejected(TARGET, f"the WSDL of {page.service} has no page type: {exc}") from exc
    header_fields, line_fields = page.fields.required()
    missing = [name for name in header_fields if name not in dict(header.elements)]
    missing += [name for name in line_fields if name not in dict(line.elements)]
    if missing:
        raise ErpRejected(TARGET, f"page {page.service} lacks fields {', '.join(missing)}")
