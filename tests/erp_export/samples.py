"""Invoice documents for the ERP tests: deterministic, several VAT rates, amounts that exercise half-up rounding."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from erp_export.documents import Address, Buyer, InvoiceDocument, InvoiceLine, Seller, compose

SELLER = Seller(
    tenant_code="nl01", name="Example Cloud B.V.", address=Address("NL", "Keizersgracht 1", "Amsterdam", "1015 AA"),
    vat_id="NL123456789B01", registration_id="12345678", registration_scheme="0106", electronic_address="12345678",
    electronic_scheme="0106",
    iban="NL91ABNA0417164300",
)
VAT_GROUPS = {"S:21": "STANDARD", "S:9": "REDUCED", "AE:0": "REVCHG", "Z:0": "ZERO"}


def buyer(number: str = "C00001", country: str = "NL") -> Buyer:
    return Buyer(erp_customer_number=number, name=f"Customer {number}",
                 address=Address(country, "Damrak 5", "Amsterdam", "1012 LG"), vat_id=f"{country}987654321B01",
                 electronic_address=f"{country}987654321B01", electronic_scheme="9944")


def line(n: int, quantity: str, price: str, rate: str = "21", category: str = "S", account: str = "8010",
         version: int = 1) -> InvoiceLine:
    net = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return InvoiceLine(
        key=f"nl01.C00001.{uuid.uuid5(uuid.NAMESPACE_OID, str(n))}.2026-05-01..2026-05-31.charge.v{version}",
        description=f"Example 365 E3 seat {n} 2026-05-01..2026-05-31",
        quantity=Decimal(quantity), unit_price=Decimal(price), net_amount=net, vat_category=category,
        vat_rate=Decimal(rate), period_start=date(2026, 5, 1), period_end=date(2026, 5, 31), account=account,
    )


def invoice(seq: int = 7, customer: str = "C00001", lines: tuple[InvoiceLine, ...] | None = None,
            currency: str = "EUR") -> InvoiceDocument:
    """Invoice ``CSP-NL01-202605-<seq>`` with three lines over two VAT rates unless ``lines`` are given."""
    chosen = lines or (line(1, "25", "31.20"), line(2, "3", "10.555"), line(3, "1", "412.37", rate="9"))
    return compose(
        external_ref=f"CSP-NL01-202605-{seq:04d}", invoice_number=f"NL01-2026-{seq:06d}",
        issue_date=date(2026, 6, 1), due_date=date(2026, 7, 1), period_start=date(2026, 5, 1),
        period_end=date(2026, 5, 31), seller=SELLER, buyer=buyer(customer), currency=currency, lines=chosen,
        note="Cloud services May 2026",
    )
