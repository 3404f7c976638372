"""One BC company's sales invoices and sales credit memos behind the API: the triggers, number series, ETags and
posting.

Why apart from the HTTP side: direct requests and the parts of a ``$batch`` run the same operations on the same
company; the triggers raise ``ApiError`` and the service turns it into BC's error body. Invoices and credit memos are
the same document shape in API v2.0 (header, lines, totals, ``Microsoft.NAV.post``) with their own entity sets, date
field and number series, so one ``Book`` per kind holds each.
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sandbox.business_central import GL_ACCOUNTS, VAT_POSTING_SETUP, customers
from sandbox.core import Clock, Response
from sandbox.state_file import StateFile

LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Value", "Fixed Asset", "Charge")


class ApiError(Exception):
    """An API error: raised by the company's triggers, answered as BC's OData error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response(self.status, {"error": {"code": self.code,
                                                "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}})


def _money(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ApiError(400, "BadRequest", f"Invalid value for {field}.") from exc


@dataclass(frozen=True)
class Kind:
    """What differs between sales invoices and sales credit memos in API v2.0."""

    entity_set: str  # salesInvoices, salesCreditMemos
    lines: str  # salesInvoiceLines, salesCreditMemoLines
    date_field: str  # invoiceDate, creditMemoDate
    title: str  # as BC names the document in its messages
    series: str  # the No. Series of the document
    state_key: str  # where the state file keeps them
    counter: str


INVOICE = Kind("salesInvoices", "salesInvoiceLines", "invoiceDate", "Sales Invoice", "S-INV", "invoices", "next_no")
CREDIT_MEMO = Kind("salesCreditMemos", "salesCreditMemoLines", "creditMemoDate", "Sales Credit Memo", "S-CR",
                   "creditMemos", "next_credit_no")
KINDS = (INVOICE, CREDIT_MEMO)


class Company:
    """One company's documents: a ``Book`` per kind (invoices, credit memos) sharing its customers and clock."""

    def __init__(self, clock: Clock, seed: int, state_dir: Path | None) -> None:
        self.clock = clock
        self.customers = customers(seed)
        self.lock = threading.RLock()
        self.store = StateFile(state_dir / "bc_rest.json") if state_dir else None
        saved = self.store.load() if self.store else None
        self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bc-rest-sandbox:{seed}:company"))
        self.state: dict[str, Any] = saved or {}
        for kind in KINDS:
            self.state.setdefault(kind.state_key, {})
            self.state.setdefault(kind.counter, 1001)
        self.books = {kind.entity_set: Book(self, kind) for kind in KINDS}

    def save(self) -> None:
        if self.store:
            self.store.save(self.state)

    def restore(self, state: dict[str, Any]) -> None:
        """Put back a copy of ``state`` (a rolled-back ``$batch``) and rebuild the indexes."""
        self.state = state
        self.books = {kind.entity_set: Book(self, kind) for kind in KINDS}


class Book:
    """One kind of document of a company, with an index on ``externalDocumentNumber``."""

    def __init__(self, company: Company, kind: Kind) -> None:
        self.company, self.kind = company, kind
        self.clock, self.customers = company.clock, company.customers
        self.by_external: dict[str, list[str]] = {}
        for invoice in self.documents.values():
            self.by_external.setdefault(invoice["externalDocumentNumber"].upper(), []).append(invoice["id"])

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.company.state[self.kind.state_key]

    def get(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.documents.get(invoice_id)
        if invoice is None:
            raise ApiError(404, "Internal_RecordNotFound",
                           f"The {self.kind.title} does not exist. Identification fields and values: "
                           f"Id='{invoice_id}'")
        return invoice

    # -- triggers ------------------------------------------------------------------------------------------

    def _set_header(self, invoice: dict[str, Any], body: dict[str, Any]) -> None:
        number = body.get("customerNumber", invoice.get("customerNumber"))
        if not number:
            raise ApiError(400, "Application_DialogException", "A customerNumber or a customerID must be provided.")
        if number not in self.customers:
            raise ApiError(400, "Application_DialogException",
                           f"The Customer does not exist. Identification fields and values: No.='{number}'")
        external = body.get("externalDocumentNumber", invoice.get("externalDocumentNumber", ""))
        if len(external) > 35:
            raise ApiError(400, "Application_StringExceededLength",
                           f"The length of the string is {len(external)}, but it must be less than or equal to 35 "
                           f"characters. Value: {external}")
        if "number" in body and body["number"] != invoice.get("number"):
            raise ApiError(400, "Application_DialogException",
                           "You may not enter numbers manually. If you want to enter numbers manually, please "
                           f"activate Manual Nos. in No. Series {self.kind.series}.")
        old = invoice.get("externalDocumentNumber")
        for name in ("externalDocumentNumber", self.kind.date_field, "postingDate", "dueDate", "currencyCode",
                     "customerPurchaseOrderReference", *(("invoiceNumber",) if self.kind is CREDIT_MEMO else ())):
            if name in body:
                invoice[name] = body[name]
        invoice["customerNumber"] = number
        invoice["customerName"] = self.customers[number]
        if old != invoice["externalDocumentNumber"]:
            if old is not None:
                self.by_external[old.upper()].remove(invoice["id"])
            self.by_external.setdefault(invoice["externalDocumentNumber"].upper(), []).append(invoice["id"])

    def _set_line(self, line: dict[str, Any], body: dict[str, Any]) -> None:
        for name in ("lineType", "lineObjectNumber", "description", "description2", "quantity", "unitPrice",
                     "taxCode", "unitOfMeasureCode"):
            if name in body:
                line[name] = body[name]
        if line.get("lineType", "Account") not in LINE_TYPES:
            raise ApiError(400, "BadRequest", f"Invalid lineType '{line.get('lineType')}'.")
        line.setdefault("lineType", "Account")
        if line["lineType"] == "Account" and line.get("lineObjectNumber") not in GL_ACCOUNTS:
            raise ApiError(400, "Application_DialogException",
                           f"The G/L Account does not exist. Identification fields and values: "
                           f"No.='{line.get('lineObjectNumber')}'")
        group = line.get("taxCode") or "STANDARD"
        if group not in VAT_POSTING_SETUP:
            raise ApiError(400, "Application_DialogException", f"The VAT Posting Setup does not exist: '{group}'")
        quantity = _money(line.get("quantity", 0), "quantity")
        price = _money(line.get("unitPrice", 0), "unitPrice")
        net = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
        line.update(taxCode=group, quantity=quantity, unitPrice=price, amountExcludingTax=net, netAmount=net,
                    taxPercent=VAT_POSTING_SETUP[group])

    def _touch(self, invoice: dict[str, Any]) -> None:
        invoice["version"] += 1
        invoice["lastModifiedDateTime"] = self.clock.now().isoformat().replace("+00:00", "Z")
        taxable: dict[str, Decimal] = {}
        for line in invoice["lines"]:
            taxable[line["taxCode"]] = taxable.get(line["taxCode"], Decimal(0)) + line["amountExcludingTax"]
        net = sum(taxable.values(), Decimal(0))
        vat = sum(((amount * VAT_POSTING_SETUP[group] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for group, amount in taxable.items()), Decimal(0))
        invoice.update(totalAmountExcludingTax=net, totalTaxAmount=vat, totalAmountIncludingTax=net + vat,
                       remainingAmount=net + vat)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        invoice_id = str(uuid.uuid4())
        today = self.clock.now().date().isoformat()
        invoice: dict[str, Any] = {"id": invoice_id, "number": None, "externalDocumentNumber": None,
                                   self.kind.date_field: today, "postingDate": today, "dueDate": today,
                                   "currencyCode": "EUR", "status": "Draft", "version": 0, "lines": []}
        body = {"externalDocumentNumber": "", **body}
        if "number" in body:
            raise ApiError(400, "Application_DialogException",
                           "You may not enter numbers manually. If you want to enter numbers manually, please "
                           f"activate Manual Nos. in No. Series {self.kind.series}.")
        unknown = sorted(({"invoiceDate", "creditMemoDate", "salesInvoiceLines", "salesCreditMemoLines"}
                          - {self.kind.date_field, self.kind.lines}) & body.keys())
        if unknown:
            raise ApiError(400, "BadRequest_InvalidRequestBody",
                           f"The property '{unknown[0]}' does not exist on type "
                           f"'Microsoft.NAV.{self.kind.entity_set[:-1]}'.")
        self._set_header(invoice, body)
        invoice["number"] = f"{self.kind.series}{self.company.state[self.kind.counter]:06d}"
        for line_body in body.get(self.kind.lines) or []:
            self.add_line(invoice, line_body, touch=False)
        self.company.state[self.kind.counter] += 1
        self.documents[invoice_id] = invoice
        self._touch(invoice)
        return invoice

    def add_line(self, invoice: dict[str, Any], body: dict[str, Any], touch: bool = True) -> dict[str, Any]:
        self._editable(invoice)
        sequence = max((line["sequence"] for line in invoice["lines"]), default=0) + 10000
        line: dict[str, Any] = {"id": str(uuid.uuid4()), "documentId": invoice["id"], "sequence": sequence,
                                "version": 1}
        self._set_line(line, body)
        invoice["lines"].append(line)
        if touch:
            self._touch(invoice)
        return line

    def _editable(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] != "Draft":
            raise ApiError(400, "Application_DialogException",
                           f"Status must be equal to 'Draft' in Sales Header: No.={invoice['number']}.")

    def check_etag(self, entity: dict[str, Any], if_match: str | None, kind: str) -> None:
        """BC's concurrency check: a missing If-Match, or one that is no ETag of this record, is
        ``BadRequest_InvalidToken`` (400); an ETag of an older version of this record is ``Request_EntityChanged``."""
        if if_match == "*":
            return
        if if_match is None or _etag_identity(if_match) != (kind, entity["id"]):
            raise ApiError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token "
                                                           "required by the service. Please provide a valid token "
                                                           "in the client request.")
        if if_match != etag(kind, entity):
            raise ApiError(409, "Request_EntityChanged", "Another user has already changed the record.")

    def patch(self, invoice: dict[str, Any], body: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        self.check_etag(invoice, if_match, "invoice")
        self._editable(invoice)
        self._set_header(invoice, body)
        self._touch(invoice)
        return invoice

    def line(self, invoice: dict[str, Any], line_id: str) -> dict[str, Any]:
        found = next((line for line in invoice["lines"] if line["id"] == line_id), None)
        if found is None:
            raise ApiError(404, "Internal_RecordNotFound", f"The Sales Line does not exist: Id='{line_id}'")
        return found

    def patch_line(self, invoice: dict[str, Any], line_id: str, body: dict[str, Any],
                   if_match: str | None) -> dict[str, Any]:
        line = self.line(invoice, line_id)
        self.check_etag(line, if_match, "line")
        self._editable(invoice)
        self._set_line(line, body)
        line["version"] += 1
        self._touch(invoice)
        return line

    def delete_line(self, invoice: dict[str, Any], line_id: str, if_match: str | None) -> None:
        line = self.line(invoice, line_id)
        self.check_etag(line, if_match, "line")
        self._editable(invoice)
        invoice["lines"].remove(line)
        self._touch(invoice)

    def delete(self, invoice: dict[str, Any], if_match: str | None) -> None:
        self.check_etag(invoice, if_match, "invoice")
        self._editable(invoice)
        del self.documents[invoice["id"]]
        self.by_external[invoice["externalDocumentNumber"].upper()].remove(invoice["id"])

    def post(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] != "Draft":
            raise ApiError(400, "Application_DialogException",
                           f"{self.kind.title} {invoice['number']} has already been posted.")
        if not invoice["lines"]:
            raise ApiError(400, "Application_DialogException", "There is nothing to post.")
        invoice["status"] = "Open"
        self._touch(invoice)


def etag(kind: str, entity: dict[str, Any]) -> str:
    """The weak ETag of an invoice or line version, as BC sends it in ``@odata.etag``."""
    token = base64.b64encode(f"{kind};{entity['id']};{entity['version']}".encode()).decode()
    return f'W/"{token}"'


def _etag_identity(value: str) -> tuple[str, str] | None:
    """The (kind, id) an ETag we issued names, or ``None`` for anything that is not one of ours."""
    if not (value.startswith('W/"') and value.endswith('"')):
        return None
    try:
        kind, entity_id, _ = base64.b64decode(value[3:-1], validate=True).decode().split(";")
    except ValueError:
        return None
    return kind, entity_id
