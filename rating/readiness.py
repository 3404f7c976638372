"""What a customer's master data must hold before its invoices are issued: the blocking findings of a batch.

Why before approval: a number once given is final, and an invoice that a Peppol access point or a Dutch or German
recipient refuses (no buyer address, no electronic address, reverse charge without the buyer's VAT id) has to be
credited and issued again. So each gap is named (customer and field) while the batch is a draft and can still be
fixed by completing the customer and rebuilding.

Pure: the caller passes the customer's fields and the VAT categories of its lines.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

REVERSE_CHARGE = "AE"


@dataclass(frozen=True, slots=True)
class BuyerData:
    customer_id: int
    name: str
    channel: str | None  # email | peppol | erp; None is erp (no delivery of our own)
    email: str | None
    peppol_id: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    vat_id: str | None


@dataclass(frozen=True, slots=True)
class Finding:
    customer_id: int
    customer: str
    field: str
    sentence: str

    def __str__(self) -> str:
        return f"customer {self.customer_id} ({self.customer}) {self.field}: {self.sentence}"


def blocking_findings(buyer: BuyerData, vat_categories: Collection[str]) -> list[Finding]:
    """The fields ``buyer`` lacks for invoices whose lines carry ``vat_categories`` and its delivery channel."""
    missing: list[tuple[str, str]] = [
        (name, "missing; EN 16931 and the Peppol, NL and DE rules want the buyer's postal address")
        for name in ("street", "city", "postal_code") if not (getattr(buyer, name) or "").strip()
    ]
    if buyer.channel == "peppol" and not buyer.peppol_id:
        missing.append(("peppol_id", "missing; the delivery channel is peppol"))
    if buyer.channel == "email" and not buyer.email:
        missing.append(("email", "missing; the delivery channel is email"))
    if REVERSE_CHARGE in vat_categories and not buyer.vat_id:
        missing.append(("vat_id", "missing; reverse-charge lines (AE) need the buyer's VAT id (BR-AE-02)"))
    return [Finding(buyer.customer_id, buyer.name, name, sentence) for name, sentence in missing]
