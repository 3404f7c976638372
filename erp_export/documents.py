"""What cspbill exports: one approved invoice as the ERP adapters and the e-invoice writers see it.

Why a separate record: the adapters must not know the ledger (import-linter forbids it), and the outbox service fills
this contract from the ledger once. The document checks its own arithmetic on construction (EN 16931 BR-CO-10,
BR-CO-13..15 and BR-CO-17, VAT per invoice per rate rounded half up) so an inconsistent invoice fails here, with the
field named, instead of in the ERP or at the customer's Peppol access point.

Money is ``Decimal`` in the invoice currency; periods have inclusive end dates. A currency's minor unit comes from
the ``iso4217`` package (ISO 4217 list one as published, the same source as ``rating.money``, which this package may
not import); a code it does not list, or lists without a minor unit, is taken at two decimals as before, since this
record only checks arithmetic and the ledger has refused unknown currencies long before an invoice is exported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from iso4217 import Currency

KEY_PATTERN = re.compile(r"^[A-Z0-9-]{1,35}$")
LINE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
VAT_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "O", "L", "M"})
# BT-121 per category, from the CEF VATEX code list (EN 16931 BR-AE-10, BR-O-10, BR-IC-10, BR-G-10): a receiving
# system reads the code, the reason text is for people.
EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "O": "VATEX-EU-O", "K": "VATEX-EU-IC", "G": "VATEX-EU-G"}

DocumentType = Literal["380", "381"]  # UNCL 1001: commercial invoice, credit note


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` (``Decimal('0.01')`` for EUR, ``Decimal('1')`` for JPY)."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        exponent = None
    return Decimal(1).scaleb(-(2 if exponent is None else exponent))


def vat_amount(taxable: Decimal, rate: Decimal, currency: str) -> Decimal:
    """BT-117 for one (category, rate): taxable × rate / 100 rounded half up once per invoice (BR-CO-17)."""
    return (taxable * rate / Decimal(100)).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Address:
    """Postal address (BG-5 / BG-8); only the country is mandatory in EN 16931."""

    country: str
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class Contact:
    """BG-6 (seller contact) or the buyer's contact point: a name, a phone number and an e-mail address."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Seller:
    """The legal entity (tenant, "Mandant") that issues the invoice."""

    tenant_code: str
    name: str
    address: Address
    vat_id: str | None = None  # BT-31, with the country prefix
    registration_id: str | None = None  # BT-30, e.g. the chamber of commerce number
    registration_scheme: str | None = None  # BT-30-1, ISO 6523 ICD, e.g. "0106" (NL KvK)
    electronic_address: str | None = None  # BT-34, Peppol endpoint; scheme in electronic_scheme
    electronic_scheme: str | None = None  # EAS code, e.g. "0106" (NL KvK) or "9930" (DE VAT)
    iban: str | None = None  # BT-84, payment account for credit transfer
    bic: str | None = None  # BT-86
    contact: Contact = Contact()  # BG-6


@dataclass(frozen=True)
class Buyer:
    """The customer, as the ERP knows it (customer number) and as the e-invoice must name it."""

    erp_customer_number: str
    name: str
    address: Address
    vat_id: str | None = None  # BT-48
    electronic_address: str | None = None  # BT-49
    electronic_scheme: str | None = None
    contact: Contact = Contact()  # BT-56/BT-58: who receives the invoice


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice line; ``key`` is the ledger's deterministic line key (tenant, customer, subscription, period,
    charge kind, version) so a re-export can match lines instead of duplicating them."""

    key: str
    description: str
    quantity: Decimal
    unit_price: Decimal  # BT-146, net, may carry more than two decimals
    net_amount: Decimal  # BT-131, already rounded by the tenant's line policy
    vat_category: str  # UNCL 5305: S, Z, E, AE, K, G, O
    vat_rate: Decimal  # percent, e.g. Decimal("21")
    period_start: date
    period_end: date  # inclusive
    account: str  # revenue G/L account (or item number) as the ERP knows it
    unit_code: str = "C62"  # UN/ECE rec 20: "one"
    days: str | None = None  # billed days of the billing period, e.g. "10/30", for the readable specification
    group: str | None = None  # usage: its meter category, under which the readable invoice groups it
    item: str | None = None  # a licence line's subscription (product and id): the readable invoice shows the lines
    # of one subscription and stretch (a seat change's charge and credit) as one
    list_price: Decimal | None = None  # the licence's price per seat and full billing period, as the price list has it

    def ref(self, limit: int = 50) -> str:
        """The line key fitted into an ERP text field of ``limit`` characters (BC ``Description 2`` is 50): kept
        as is when it fits, else shortened with a digest of the whole key so two long keys never collide."""
        if len(self.key) <= limit:
            return self.key
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:16]
        return f"{self.key[: limit - len(digest) - 1]}~{digest}"


@dataclass(frozen=True)
class VatSubtotal:
    """BG-23: one VAT breakdown row per (category, rate)."""

    category: str
    rate: Decimal
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str | None = None  # BT-120, required for AE, E, K, G, O (or the code)
    exemption_reason_code: str | None = None  # BT-121, VATEX code list


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3: the invoice a credit note corrects, by its number (BT-25) and issue date (BT-26); ``external_ref`` is
    its ERP key, by which an adapter finds it in the ERP (e.g. to apply the credit memo to it)."""

    number: str
    issue_date: date
    external_ref: str | None = None


@dataclass(frozen=True)
class InvoiceDocument:
    """An approved invoice ready for export; construct it with :func:`compose` unless the totals come from elsewhere.

    A credit note (type 381) states what it credits as positive amounts, as EN 16931 has it: its lines and totals
    are the ledger's negated, and ``preceding_invoice`` names the invoice it corrects when there is one.
    """

    external_ref: str  # deterministic key, [A-Z0-9-]{1,35}: the ERP's external document number
    invoice_number: str  # cspbill's gapless number (BT-1)
    issue_date: date
    due_date: date | None
    period_start: date
    period_end: date  # inclusive
    seller: Seller
    buyer: Buyer
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_breakdown: tuple[VatSubtotal, ...]
    total_net: Decimal  # BT-109 (no document allowances or charges)
    total_vat: Decimal  # BT-110
    total_gross: Decimal  # BT-112
    type_code: DocumentType = "380"
    preceding_invoice: PrecedingInvoice | None = None
    buyer_reference: str | None = None  # BT-10; the external_ref is used when absent (Peppol needs BT-10 or BT-13)
    note: str | None = None
    payment_terms: str | None = None
    payment_reference: str | None = None  # BT-83 remittance information: the ISO 11649 RF reference, else the number
    extra: dict[str, str] = field(default_factory=dict, compare=False)  # adapter hints, e.g. Exact journal

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ValueError(f"invoice {self.external_ref!r}: " + "; ".join(problems))

    @property
    def remittance(self) -> str:
        """What the customer writes on the transfer (BT-83): the structured reference, else the invoice number."""
        return self.payment_reference or self.invoice_number

    @property
    def amount_due(self) -> Decimal:
        return self.total_gross


def breakdown(lines: Iterable[InvoiceLine], currency: str,
              exemption_reasons: dict[str, str] | None = None) -> tuple[VatSubtotal, ...]:
    """VAT per (category, rate) over the whole invoice, rounded half up once per rate (BR-CO-17)."""
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.vat_category, line.vat_rate)
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
    reasons = exemption_reasons or {}
    return tuple(
        VatSubtotal(category, rate, amount, vat_amount(amount, rate, currency), reasons.get(category),
                    EXEMPTION_CODES.get(category))
        for (category, rate), amount in sorted(taxable.items(), key=lambda item: (item[0][0], item[0][1]))
    )


def compose(*, lines: Iterable[InvoiceLine], exemption_reasons: dict[str, str] | None = None,
            **header: object) -> InvoiceDocument:
    """Build an ``InvoiceDocument`` from header fields and lines, computing BG-23 and the totals."""
    line_tuple = tuple(lines)
    currency = str(header["currency"])
    vat = breakdown(line_tuple, currency, exemption_reasons)
    total_net = sum((line.net_amount for line in line_tuple), Decimal(0))
    total_vat = sum((row.tax_amount for row in vat), Decimal(0))
    return InvoiceDocument(lines=line_tuple, vat_breakdown=vat, total_net=total_net, total_vat=total_vat,
                           total_gross=total_net + total_vat, **header)  # type: ignore[arg-type]


def _problems(doc: InvoiceDocument) -> Iterable[str]:
    """Every rule the document breaks, each naming the field."""
    if not KEY_PATTERN.fullmatch(doc.external_ref):
        yield "external_ref must match [A-Z0-9-]{1,35}"
    if not re.fullmatch(r"[A-Z]{3}", doc.currency):
        yield f"currency {doc.currency!r} is not an ISO 4217 code"
    if doc.period_end < doc.period_start:
        yield "period_end is before period_start"
    if not doc.lines:
        yield "lines: an invoice needs at least one line"
    keys = [line.key for line in doc.lines]
    if len(set(keys)) != len(keys):
        yield "lines: line keys are not unique"
    step = minor_unit(doc.currency)
    for line in doc.lines:
        if not LINE_KEY_PATTERN.fullmatch(line.key):
            yield f"line {line.key!r}: key has characters outside [A-Za-z0-9._:-] or is too long"
        if line.vat_category not in VAT_CATEGORIES:
            yield f"line {line.key!r}: vat_category {line.vat_category!r} is not a UNCL 5305 code"
        if line.net_amount != line.net_amount.quantize(step):
            yield f"line {line.key!r}: net_amount {line.net_amount} has more decimals than {doc.currency} allows"
        if line.period_end < line.period_start:
            yield f"line {line.key!r}: period_end is before period_start"
    expected = breakdown(doc.lines, doc.currency)
    got = {(row.category, row.rate): row for row in doc.vat_breakdown}
    if set(got) != {(row.category, row.rate) for row in expected}:
        yield "vat_breakdown: one row per (category, rate) of the lines is required"
    for row in expected:
        mine = got.get((row.category, row.rate))
        if mine and mine.taxable_amount != row.taxable_amount:
            yield (f"vat_breakdown {row.category} {row.rate}%: taxable {mine.taxable_amount}"
                   f" != Σ lines {row.taxable_amount}")
        if mine and mine.tax_amount != row.tax_amount:
            yield f"vat_breakdown {row.category} {row.rate}%: tax {mine.tax_amount} != {row.tax_amount} (BR-CO-17)"
        if row.category in {"AE", "E", "K", "G", "O"} and mine and not mine.exemption_reason:
            yield f"vat_breakdown {row.category}: exemption_reason is required"
    categories = {line.vat_category for line in doc.lines}
    if "O" in categories and len(categories) > 1:
        yield "lines: VAT category O (not subject to VAT) cannot share an invoice with other categories (BR-O-11)"
    if "O" in categories and (doc.seller.vat_id or doc.buyer.vat_id):
        yield "seller/buyer vat_id: an invoice not subject to VAT (O) names no VAT identifier (BR-O-02)"
    if "AE" in categories and not (doc.seller.vat_id and doc.buyer.vat_id):
        yield "seller/buyer vat_id: reverse charge (AE) needs both VAT identifiers (BR-AE-02)"
    if doc.total_net != sum((line.net_amount for line in doc.lines), Decimal(0)):
        yield "total_net != Σ line net amounts (BR-CO-10/13)"
    if doc.total_vat != sum((row.tax_amount for row in doc.vat_breakdown), Decimal(0)):
        yield "total_vat != Σ VAT breakdown (BR-CO-14)"
    if doc.total_gross != doc.total_net + doc.total_vat:
        yield "total_gross != total_net + total_vat (BR-CO-15)"
    if doc.type_code == "381" and doc.total_gross < 0:
        yield "total_gross: a credit note states the credited amount, which must not be negative"
