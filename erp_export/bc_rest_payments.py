"""Business Central customer payments over API v2.0: one line of a customer payment journal per application,
applied to the posted sales invoice by its number.

The contract (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpayment,
.../api/dynamics_customerpayment_create, .../resources/dynamics_customerpaymentjournal): journals are
``companies({id})/customerPaymentJournals`` (``id``, ``code``, ``displayName``, ``balancingAccountNumber``); their
lines are ``customerPaymentJournals({id})/customerPayments`` with ``customerNumber``, ``postingDate``,
``documentNumber``, ``externalDocumentNumber``, ``amount``, ``appliesToInvoiceNumber`` (20 characters at most),
``description`` and ``comment``. A received payment is entered with a negative amount, as in BC's cash receipt
journal (the v1.0 example shows ``-1500``; the v2.0 page's example shows a positive figure without saying why), so
it credits the customer's ledger entry it applies to. Lines stay in the journal for finance to post in BC.

Why look-ups by ``externalDocumentNumber`` within the journal: BC enforces no uniqueness there, so it is our key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from erp_export.base import ErpRejected
from erp_export.bc_rest import TARGET, BcRestExporter
from erp_export.payments import PaymentDocument, PaymentRef

APPLIES_TO_MAX = 20  # appliesToInvoiceNumber: "Maximum supported size is 20 characters"


class BcPaymentJournal:
    """``PaymentExporter`` for one customer payment journal (``code``, default ``GENERAL``) of a BC company."""

    target = TARGET

    def __init__(self, exporter: BcRestExporter, code: str = "GENERAL") -> None:
        self.exporter = exporter
        self.code = code
        self._journal: str | None = None

    def _url(self, path: str) -> str:
        return f"{self.exporter.config.api_url}/companies({self.exporter.company()})/{path}"

    def journal(self) -> str:
        """The journal's id, found by its code once."""
        if self._journal is None:
            expression = quote(f"code eq '{self.code}'")
            rows = self.exporter.request_json("GET", self._url(f"customerPaymentJournals?$filter={expression}"))
            if not rows["value"]:
                raise ErpRejected(TARGET, f"customer payment journal {self.code!r} does not exist in BC "
                                          "(payments.erp[].journal)")
            self._journal = str(rows["value"][0]["id"])
        return self._journal

    def _lines(self) -> str:
        return self._url(f"customerPaymentJournals({self.journal()})/customerPayments")

    def find_payment(self, external_ref: str) -> PaymentRef | None:
        expression = quote(f"externalDocumentNumber eq '{external_ref}'")
        rows = self.exporter.request_json("GET", f"{self._lines()}?$filter={expression}")["value"]
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} customer payments carry externalDocumentNumber {external_ref}: "
                                      "resolve the duplicate in BC")
        return _ref(rows[0]) if rows else None

    def create_payment(self, doc: PaymentDocument) -> PaymentRef:
        if len(doc.erp_invoice_number) > APPLIES_TO_MAX:
            raise ErpRejected(TARGET, f"invoice {doc.invoice_number}: BC number {doc.erp_invoice_number!r} is longer "
                                      f"than appliesToInvoiceNumber's {APPLIES_TO_MAX} characters")
        body = {"customerNumber": doc.customer_number, "postingDate": doc.posting_date.isoformat(),
                "externalDocumentNumber": doc.external_ref, "amount": -doc.amount,
                "appliesToInvoiceNumber": doc.erp_invoice_number, "description": doc.description[:100],
                "comment": f"cspbill {doc.invoice_number}"}
        return _ref(self.exporter.request_json("POST", self._lines(), body=body, write=True))


def _ref(row: dict[str, Any]) -> PaymentRef:
    amount = row.get("amount")
    return PaymentRef(str(row["id"]), row.get("externalDocumentNumber") or "",
                      None if amount is None else -Decimal(str(amount)))
