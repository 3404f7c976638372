"""The contract of a payment export: a customer payment applied to one invoice, written to the ERP once.

Why its own small contract beside ``ErpExporter``: a payment is no invoice (no lines, no VAT, no draft to complete),
but it has the same hazard: no ERP enforces uniqueness of our reference and a write without an answer may have
landed. So every adapter offers ``find_payment`` by our reference, and the outbox looks it up before every create
and after every unknown outcome (``services.payments.erp_outbox``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PaymentDocument:
    """One application of a received payment to one invoice, as the ERP is told it."""

    external_ref: str  # ours, derived from the application: what the ERP is searched for
    customer_number: str  # the ERP's customer number
    invoice_number: str  # cspbill's invoice number
    erp_invoice_number: str  # the number the ERP gave the invoice when it was exported
    posting_date: dt.date  # the bank's booking day
    amount: Decimal  # received, positive (a refund is negative), in the invoice's currency
    currency: str
    description: str


@dataclass(frozen=True)
class PaymentRef:
    """What the ERP holds for one of our payments."""

    erp_id: str
    external_ref: str
    amount: Decimal | None  # as we sent it (received positive), read back from the ERP


@runtime_checkable
class PaymentExporter(Protocol):
    """Customer payments in one ERP. Every method raises only ``ErpError`` subclasses."""

    target: str

    def find_payment(self, external_ref: str) -> PaymentRef | None:
        """The payment carrying ``external_ref``, ``None`` when absent; two are a duplicate (``ErpRejected``)."""

    def create_payment(self, doc: PaymentDocument) -> PaymentRef:
        """Write the payment (never retried blindly: the caller looks it up after an unknown outcome)."""
