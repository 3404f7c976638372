"""The ledger side of an ERP document: an approved invoice as the adapters and e-invoice writers see it, with the
deterministic references (erp.md §5 rule 1) that make every retry find what an earlier attempt created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import object_session

from config.schema import Tenant as TenantConfig
from erp_export.documents import (
    KEY_PATTERN,
    LINE_KEY_PATTERN,
    Address,
    Buyer,
    Contact,
    InvoiceDocument,
    InvoiceLine,
    PrecedingInvoice,
    Seller,
)
from erp_export.documents import compose as compose_document
from erp_export.ubl import EMAIL_SCHEME
from ledger.models import CREDIT_NOTE, INVOICE, Batch, Customer, Invoice, Subscription
from ledger.models import InvoiceLine as LedgerLine
from rating.money import minor_units
from rating.months import month_bounds
from rating.payments.reference import creditor_reference
from services.batches.lines import LICENCE_KINDS
from services.errors import ValidationFailed
from services.uow import UnitOfWork

LINE_REF_MAX = 100  # the document contract's limit; adapters fit it into shorter ERP fields themselves
EXEMPTION_REASONS = {
    "AE": "Reverse charge", "K": "Intra-community supply", "E": "Exempt from VAT", "G": "Export outside the EU",
    "O": "Not subject to VAT",
}

# EAS codes (CEF code list) for VAT numbers as Peppol endpoint ids, by the party's country.
VAT_ENDPOINT_SCHEMES = {"NL": "9944", "DE": "9930", "BE": "9925", "AT": "9914", "FR": "9957", "LU": "9938"}


def erp_reference(tenant_code: str, invoice_number: str) -> str:
    """The invoice's deterministic ERP key (erp.md §5 rule 1): ``CSP-<TENANT>-<NUMBER>`` in ``[A-Z0-9-]``, at most
    35 characters (longer ones keep their start and end a digest of the whole, so they stay unique)."""
    key = re.sub(r"[^A-Z0-9-]", "-", f"CSP-{tenant_code}-{invoice_number}".upper())
    if len(key) <= 35:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:10].upper()
    return f"{key[:24]}-{digest}"


def line_reference(line_key: str) -> str:
    """A line's reference in the ERP: the ledger's line key when the document contract accepts it, else the key with
    its ``/`` separators written as ``:`` (one-to-one for keys without ``:``), else a digest of it. Every ledger key
    maps to one stable reference, readable whenever possible."""
    if len(line_key) <= LINE_REF_MAX and LINE_KEY_PATTERN.fullmatch(line_key):
        return line_key
    readable = line_key.replace("/", ":")
    if ":" not in line_key and len(readable) <= LINE_REF_MAX and LINE_KEY_PATTERN.fullmatch(readable):
        return readable
    return "K-" + hashlib.sha256(line_key.encode()).hexdigest()[:40]


def invoice_document(config: TenantConfig, invoice: Invoice, customer: Customer, batch: Batch,
                     revenue_account: str | Callable[[LedgerLine], str]) -> InvoiceDocument:
    """An approved ledger invoice as the adapters and e-invoice writers see it, each line on ``revenue_account`` (one
    for all, or per line). Raises ``ValidationFailed`` naming the invoice and field when the ledger cannot make a
    valid document (missing ERP customer number, totals that do not add up)."""
    label = f"invoice {invoice.number or invoice.id}"
    if not invoice.number:
        raise ValidationFailed(f"{label}: number is empty (the invoice is not approved)")
    if not customer.reference:
        raise ValidationFailed(f"{label}: customer {customer.id} ({customer.name}) has no reference "
                               "(its ERP customer number)")
    first, last = month_bounds(batch.month)
    issue = invoice.issue_date or (last + dt.timedelta(days=1))
    credit = invoice.document_type == CREDIT_NOTE
    sign = Decimal(-1) if credit else Decimal(1)  # a credit note states the credited amounts positively
    account = revenue_account if callable(revenue_account) else lambda _line: revenue_account
    lines = []
    items = subscription_items(invoice)
    for line in invoice.lines:
        quantity, price = document_quantity_and_price(line)
        item = items.get(line.subscription_id) if line.kind in LICENCE_KINDS else None
        lines.append(InvoiceLine(key=line_reference(line.line_key), description=line.description,
                                 quantity=sign * quantity, unit_price=price, net_amount=sign * line.amount,
                                 vat_category=line.vat_category, vat_rate=line.vat_rate,
                                 period_start=line.period_from or first, period_end=line.period_to or last,
                                 account=account(line), item=item, list_price=list_price(line) if item else None,
                                 **specification(line)))
    not_subject = {line.vat_category for line in lines} == {"O"}  # BR-O-02: then no VAT identifiers
    terms_days = customer.payment_terms_days if customer.payment_terms_days is not None \
        else config.seller.payment_terms_days
    due = issue + dt.timedelta(days=terms_days)
    try:
        doc = compose_document(
            lines=lines, exemption_reasons=EXEMPTION_REASONS,
            external_ref=erp_reference(config.code, invoice.number), invoice_number=invoice.number,
            issue_date=issue, due_date=due, payment_terms=payment_terms(credit, terms_days, due),
            payment_reference=None if credit else creditor_reference(invoice.number),
            # BG-14 spans every line's period (PEPPOL-EN16931-R110/R111): licences billed in advance, usage in
            # arrears, corrections and credits of earlier months
            period_start=min(line.period_start for line in lines) if lines else first,
            period_end=max(line.period_end for line in lines) if lines else last,
            seller=seller(config, vat=not not_subject),
            buyer=buyer(customer, config.country, vat=not not_subject),
            currency=invoice.currency, note=f"Cloud services {batch.month}",
            buyer_reference=customer.leitweg_id,
            type_code=CREDIT_NOTE if credit else INVOICE, preceding_invoice=preceding_invoice(invoice, config.code),
        )
    except ValueError as exc:
        raise ValidationFailed(f"{label}: {exc}") from exc
    ours = (sign * invoice.net, sign * invoice.vat, sign * invoice.gross)
    if (doc.total_net, doc.total_vat, doc.total_gross) != ours:
        raise ValidationFailed(f"{label}: net/vat/gross {'/'.join(map(str, ours))} in the ledger != "
                               f"{doc.total_net}/{doc.total_vat}/{doc.total_gross} from its lines")
    assert KEY_PATTERN.fullmatch(doc.external_ref)
    return doc


def preceding_invoice(invoice: Invoice, tenant_code: str) -> PrecedingInvoice | None:
    """BT-25/BT-26 of a credit note: the invoice it corrects, as chosen at approval (the most recent of those its
    lines correct), with its ERP key; ``None`` when it corrects nothing that was issued."""
    chosen = (invoice.corrected_invoices or [None])[0]
    if invoice.document_type != CREDIT_NOTE or chosen is None:
        return None
    return PrecedingInvoice(chosen["number"], dt.date.fromisoformat(chosen["issue_date"]),
                            erp_reference(tenant_code, chosen["number"]))


UNIT_PRICE_DECIMALS = 6  # BT-146 may carry more decimals than the currency; a reader needs no more than six


def document_quantity_and_price(line: LedgerLine) -> tuple[Decimal, Decimal]:
    """Quantity and unit price for the ERP and the e-invoice, so that quantity × unit price rounds to the line's amount.

    ERPs recompute a line as quantity × unit price, and EN 16931 requires the same (PEPPOL-EN16931-R120) with a net
    price that is never negative (BR-27). A prorated line (12 seats × 34.96 × 5/30) or a credit (-58.27 for 10 seats)
    therefore goes out as its seats with the *effective* unit price for the stretch (amount / seats) and, for a
    credit, a negative quantity; the formula stays in the description and the lineage. Either price is written with
    the fewest decimals (at least the currency's, at most six) that still give the amount, so a customer reads
    12.316, not an exchange-rate conversion's 12.31612855.
    """
    amount, quantity = line.amount, abs(line.quantity)
    step = Decimal(1).scaleb(-minor_units(line.currency))
    as_billed = (line.quantity * line.unit_price).quantize(step, ROUND_HALF_UP)
    if amount >= 0 and line.unit_price >= 0 and as_billed == amount:
        return line.quantity, _shortest(line.unit_price, line.quantity, amount, step)
    sign = Decimal(-1) if amount < 0 else Decimal(1)
    if quantity:
        price = _shortest(abs(amount) / quantity, quantity, abs(amount), step)
        if (quantity * price).quantize(step, ROUND_HALF_UP) == abs(amount):
            return sign * quantity, price
    return sign, abs(amount)


def _shortest(price: Decimal, quantity: Decimal, amount: Decimal, step: Decimal) -> Decimal:
    """``price`` rounded to the fewest decimals from the currency's up to six whose product with ``quantity`` still
    rounds to ``amount``; six decimals when none does. A price already that short is kept as it is."""
    decimals = -step.as_tuple().exponent
    for places in range(max(decimals, 0), UNIT_PRICE_DECIMALS + 1):
        candidate = price.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if candidate == price:
            return price
        if (quantity * candidate).quantize(step, ROUND_HALF_UP) == amount:
            return candidate
    return price.quantize(Decimal(1).scaleb(-UNIT_PRICE_DECIMALS), ROUND_HALF_UP)


LIST_PRICE_STEP = Decimal("0.0001")  # a price list's precision (Microsoft's lists carry up to four decimals)


def list_price(line: LedgerLine) -> Decimal:
    """The line's price per seat and full billing period as a reader sees it: the ledger's unit price, an exchange
    rate's conversion rounded half up to a price list's four decimals."""
    price = line.unit_price
    return price if price == price.quantize(LIST_PRICE_STEP) else price.quantize(LIST_PRICE_STEP, ROUND_HALF_UP)


def subscription_items(invoice: Invoice) -> dict[int, str]:
    """``{subscription id: "product name (product id)"}`` for the invoice's licence lines, read in the invoice's own
    session; empty for an invoice outside one (nothing to group by then)."""
    session = object_session(invoice)
    wanted = {line.subscription_id for line in invoice.lines if line.subscription_id and line.kind in LICENCE_KINDS}
    if session is None or not wanted:
        return {}
    rows = session.execute(select(Subscription.id, Subscription.product_name, Subscription.product_id)
                           .where(Subscription.id.in_(wanted)))
    return {row.id: f"{row.product_name} ({row.product_id})" for row in rows}


def payload_hash(doc: InvoiceDocument) -> str:
    """A digest of what was sent, stored with the row so a later change of the same invoice is visible."""
    return hashlib.sha256(json.dumps(asdict(doc), sort_keys=True, default=str).encode()).hexdigest()


def specification(line: LedgerLine) -> dict[str, str]:
    """What the readable invoice adds from a line's lineage: the billed days of a prorated licence line and the
    meter category a usage line is grouped under."""
    lineage = line.lineage or {}
    found = {"days": str(lineage["days"])} if lineage.get("days") else {}
    category = (lineage.get("details") or {}).get("meter_category")
    if line.kind == "usage":
        found["group"] = str(category or "Other usage")
    return found


def payment_terms(credit: bool, days: int, due: dt.date) -> str:
    """BT-20: the payment terms as text (BR-CO-25 needs them, or a due date, when an amount is due)."""
    if credit:
        return f"The credited amount is refunded or set off within {days} days."
    return f"Payable within {days} days, by {due.isoformat()}, without deduction."


def seller(config: TenantConfig, vat: bool = True) -> Seller:
    """The issuing legal entity from its config: legal name, address, VAT id, registration (BT-30), contact (BG-6),
    account for SEPA credit transfer, and its Peppol id as BT-34 (else its VAT number under that country's scheme)."""
    details = config.seller
    address = Address(config.country, details.address.street, details.address.city, details.address.postal_code)
    registration = details.registration
    endpoint = ({"electronic_address": details.peppol.id, "electronic_scheme": details.peppol.scheme}
                if details.peppol else _endpoint(config.vat_id, config.country))
    return Seller(tenant_code=config.code, name=details.legal_name or config.name, address=address,
                  vat_id=config.vat_id if vat else None,
                  registration_id=registration.id if registration else None,
                  registration_scheme=registration.scheme if registration else None,
                  iban=details.iban, bic=details.bic,
                  contact=Contact(details.contact.name, details.contact.phone, details.contact.email), **endpoint)


def buyer(customer: Customer, default_country: str, vat: bool = True) -> Buyer:
    """The customer from its master data. BT-49 is its Peppol participant id, else its VAT number under its country's
    VAT scheme (how most EU businesses are registered in Peppol; PEPPOL-EN16931-R010 wants an address on every
    file), else its invoice e-mail address (scheme EM, which Peppol's EAS subset lacks), else none: the delivery
    channel check refuses Peppol for a customer without a Peppol id."""
    by_vat = _endpoint(customer.vat_id, customer.country or default_country) if vat else {}
    if customer.peppol_id and customer.peppol_scheme:
        endpoint = {"electronic_address": customer.peppol_id, "electronic_scheme": customer.peppol_scheme}
    elif by_vat:
        endpoint = by_vat
    elif customer.email:
        endpoint = {"electronic_address": customer.email, "electronic_scheme": EMAIL_SCHEME}
    else:
        endpoint = {}
    address = Address(customer.country or default_country, customer.street, customer.city, customer.postal_code)
    return Buyer(erp_customer_number=customer.reference or "", name=customer.name, address=address,
                 vat_id=customer.vat_id if vat else None,
                 contact=Contact(customer.contact_name, None, customer.email), **endpoint)


def _endpoint(vat_id: str | None, country: str) -> dict[str, str]:
    """The Peppol electronic address (BT-34/BT-49) a party is reached at by default: its VAT number, with the EAS
    scheme of that country's VAT numbers. Countries without a scheme here get none (the e-invoice omits it)."""
    scheme = VAT_ENDPOINT_SCHEMES.get(country)
    if not vat_id or scheme is None:
        return {}
    return {"electronic_address": vat_id, "electronic_scheme": scheme}


def invoice_customer(uow: UnitOfWork, invoice: Invoice) -> Customer:
    customer = uow.exports.customers({invoice.customer_id}).get(invoice.customer_id)
    if customer is None:
        raise ValidationFailed(f"invoice {invoice.number}: customer {invoice.customer_id} does not exist")
    return customer
