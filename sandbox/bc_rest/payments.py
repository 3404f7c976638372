"""Customer payment journals of the BC sandbox company (API v2.0): ``customerPaymentJournals`` and their
``customerPayments`` lines, applied to a posted sales invoice by number.

The contract as Microsoft documents it
(https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpayment,
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpaymentjournal):
a journal has ``id``, ``code``, ``displayName``, ``balancingAccountNumber``; a payment line has ``id``, ``journalId``,
``journalDisplayName``, ``lineNumber`` (10000, 20000, ...), ``customerId``, ``customerNumber``, ``postingDate``,
``documentNumber``, ``externalDocumentNumber``, ``amount``, ``appliesToInvoiceId``, ``appliesToInvoiceNumber`` (20
characters at most), ``description``, ``comment``, ``lastModifiedDateTime``. BC checks the customer, and that the
invoice applied to is a posted one of that customer; it does not check ``externalDocumentNumber`` for uniqueness.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.bc_rest.company import INVOICE, ApiError, Company, etag
from sandbox.core import Handler, Request, Response

JOURNAL_CODE = "GENERAL"
_FILTER = re.compile(r"^\s*(code|externalDocumentNumber)\s+eq\s+'((?:[^']|'')*)'\s*$")


class PaymentJournals:
    """The company's customer payment journals and lines, kept in its state (saved and rolled back with it)."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.journal_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bc-rest-sandbox:{company.id}:journal:GENERAL"))

    @property
    def lines(self) -> dict[str, dict[str, Any]]:
        return self.company.state.setdefault("customerPayments", {})

    def journals(self) -> list[dict[str, Any]]:
        return [{"id": self.journal_id, "code": JOURNAL_CODE, "displayName": "Cash receipts",
                 "balancingAccountNumber": "1800", "lastModifiedDateTime": "2026-01-01T00:00:00Z"}]

    def create(self, journal_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if journal_id != self.journal_id:
            raise ApiError(404, "Internal_RecordNotFound", f"The Gen. Journal Batch does not exist: Id='{journal_id}'")
        number = body.get("customerNumber")
        if number not in self.company.customers:
            raise ApiError(400, "Application_DialogException",
                           f"The Customer does not exist. Identification fields and values: No.='{number}'")
        for name, limit in (("externalDocumentNumber", 35), ("appliesToInvoiceNumber", 20), ("documentNumber", 20)):
            value = str(body.get(name) or "")
            if len(value) > limit:
                raise ApiError(400, "Application_StringExceededLength",
                               f"The length of the string is {len(value)}, but it must be less than or equal to "
                               f"{limit} characters. Value: {value}")
        try:
            amount = Decimal(str(body.get("amount", 0)))
        except InvalidOperation as exc:
            raise ApiError(400, "BadRequest", "Invalid value for amount.") from exc
        invoice = self._invoice(body.get("appliesToInvoiceNumber"), number)
        sequence = max((line["lineNumber"] for line in self.lines.values()), default=0) + 10000
        line = {"id": str(uuid.uuid4()), "journalId": journal_id, "journalDisplayName": JOURNAL_CODE,
                "lineNumber": sequence, "customerId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer:{number}")),
                "customerNumber": number, "contactId": "", "postingDate": body.get("postingDate"),
                "documentNumber": body.get("documentNumber") or f"G{sequence:08d}",
                "externalDocumentNumber": body.get("externalDocumentNumber") or "", "amount": amount,
                "appliesToInvoiceId": invoice["id"] if invoice else "00000000-0000-0000-0000-000000000000",
                "appliesToInvoiceNumber": body.get("appliesToInvoiceNumber") or "",
                "description": body.get("description") or "", "comment": body.get("comment") or "",
                "lastModifiedDateTime": self.company.clock.now().isoformat().replace("+00:00", "Z"), "version": 1}
        self.lines[line["id"]] = line
        return line

    def _invoice(self, applies_to: str | None, customer: str) -> dict[str, Any] | None:
        if not applies_to:
            return None
        found = next((i for i in self.company.state[INVOICE.state_key].values() if i["number"] == applies_to), None)
        if found is None or found["status"] == "Draft" or found["customerNumber"] != customer:
            raise ApiError(400, "Application_DialogException",
                           f"The posted sales invoice {applies_to} of customer {customer} does not exist or is not "
                           "open.")
        return found


def _filtered(request: Request, rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    expression = request.arg("$filter")
    if not expression:
        return rows
    match = _FILTER.match(expression)
    if match is None or match.group(1) != field:
        raise ApiError(400, "BadRequest", f"The sandbox cannot evaluate the filter '{expression}'.")
    value = match.group(2).replace("''", "'").upper()
    return [row for row in rows if str(row.get(field, "")).upper() == value]


def _shown(line: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.etag": etag("payment", line), **{k: v for k, v in line.items() if k != "version"}}


def handlers(company: Company) -> dict[str, Handler]:
    """The operations, by name, for the service's router (direct requests and ``$batch`` parts alike)."""

    def book() -> PaymentJournals:
        return PaymentJournals(company)  # stateless over company.state: a rolled-back $batch is seen at once

    def list_journals(request: Request) -> Response:
        return Response(200, {"value": _filtered(request, book().journals(), "code")})

    def list_payments(request: Request) -> Response:
        journals = book()
        if request.params["jid"] != journals.journal_id:
            raise ApiError(404, "Internal_RecordNotFound", "The Gen. Journal Batch does not exist.")
        rows = [line for line in journals.lines.values() if line["journalId"] == request.params["jid"]]
        return Response(200, {"value": [_shown(line) for line in _filtered(request, rows, "externalDocumentNumber")]})

    def create_payment(request: Request) -> Response:
        return Response(201, _shown(book().create(request.params["jid"], request.json() or {})))

    return {"list_journals": list_journals, "list_payments": list_payments, "create_payment": create_payment}


def register(operation: Any, company: Company) -> None:
    """Add the payment journal routes through the service's ``operation`` (direct and ``$batch``)."""
    ops = handlers(company)
    journals = r"(?:/companies\((?P<cid>[0-9a-f-]+)\))?/customerPaymentJournals"
    payments = journals + r"\((?P<jid>[0-9a-f-]+)\)/customerPayments"
    operation("GET", journals, ops["list_journals"])
    operation("GET", payments, ops["list_payments"])
    operation("POST", payments, ops["create_payment"])
