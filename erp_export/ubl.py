"""UBL 2.1 Invoice and CreditNote for an ``InvoiceDocument``: Peppol BIS Billing 3.0, or XRechnung 3.0 (UBL syntax).

Why one writer for both: XRechnung is a CIUS of the same EN 16931 model, so the two differ only in the
specification identifier (BT-24) and in what the German rules demand that cspbill always writes anyway (Leitweg-ID
as BT-10, seller contact BG-6, payment instructions BG-16). The amounts, the VAT breakdown per (category, rate) and
the totals were checked when the document was built, so this module only maps fields, in the schema's element order
(docs.peppol.eu/poacc/billing/3.0/syntax/ubl-invoice/tree and .../ubl-creditnote/tree).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from erp_export.documents import Address, Contact, InvoiceDocument, InvoiceLine, minor_unit

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
EMAIL_SCHEME = "EM"  # EAS code of an e-mail address: EN 16931 and XRechnung take it, Peppol's EAS subset does not
NO_RATE_CATEGORIES = frozenset({"O"})  # BR-O-05: "not subject to VAT" carries no rate
SEPA_CREDIT_TRANSFER, CREDIT_TRANSFER = "58", "30"  # UNCL 4461
SEPA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO", "CH", "GB", "MC", "SM", "VA", "AD",
})


def plain(value: object) -> str:
    """A number or date as e-invoices and the visible page write it (no exponent, ISO dates)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def payment_means_code(iban: str) -> str:
    """58 (SEPA credit transfer) for an IBAN of the SEPA area, else 30 (credit transfer)."""
    return SEPA_CREDIT_TRANSFER if iban[:2] in SEPA_COUNTRIES else CREDIT_TRANSFER


def _cbc(parent: etree._Element, name: str, text: object, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text if isinstance(text, str) else plain(text)
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _money(doc: InvoiceDocument, amount: Decimal) -> str:
    return format(amount.quantize(minor_unit(doc.currency)), "f")


def _party(parent: etree._Element, role: str, name: str, address: Address, vat_id: str | None,
           registration: tuple[str | None, str] | None, endpoint: tuple[str | None, str | None],
           contact: Contact) -> None:
    party = _cac(_cac(parent, role), "Party")
    endpoint_id, scheme = endpoint
    if endpoint_id and scheme:
        _cbc(party, "EndpointID", endpoint_id, schemeID=scheme)
    _cbc(_cac(party, "PartyName"), "Name", name)
    postal = _cac(party, "PostalAddress")
    for tag, value in (("StreetName", address.street), ("CityName", address.city),
                       ("PostalZone", address.postal_code)):
        if value:
            _cbc(postal, tag, value)
    _cbc(_cac(postal, "Country"), "IdentificationCode", address.country)
    if vat_id:
        tax = _cac(party, "PartyTaxScheme")
        _cbc(tax, "CompanyID", vat_id)
        _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    if registration:
        scheme_id, registration_id = registration
        _cbc(legal, "CompanyID", registration_id, **({"schemeID": scheme_id} if scheme_id else {}))
    if contact.name or contact.phone or contact.email:
        element = _cac(party, "Contact")
        for tag, value in (("Name", contact.name), ("Telephone", contact.phone), ("ElectronicMail", contact.email)):
            if value:
                _cbc(element, tag, value)


def _category(parent: etree._Element, tag: str, category: str, rate: Decimal, reason_code: str | None = None,
              reason: str | None = None) -> None:
    element = _cac(parent, tag)
    _cbc(element, "ID", category)
    if category not in NO_RATE_CATEGORIES:
        _cbc(element, "Percent", rate)
    if reason_code:
        _cbc(element, "TaxExemptionReasonCode", reason_code)
    if reason:
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _line(root: etree._Element, doc: InvoiceDocument, line: InvoiceLine, credit: bool) -> None:
    element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(element, "ID", line.key)
    quantity, price = (line.quantity, line.unit_price) if line.unit_price >= 0 else (-line.quantity,
                                                                                        -line.unit_price)
    _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", quantity, unitCode=line.unit_code)
    _cbc(element, "LineExtensionAmount", _money(doc, line.net_amount), currencyID=doc.currency)
    period = _cac(element, "InvoicePeriod")
    _cbc(period, "StartDate", line.period_start)
    _cbc(period, "EndDate", line.period_end)
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description[:100])
    _cbc(_cac(item, "SellersItemIdentification"), "ID", line.account)
    _category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    _cbc(_cac(element, "Price"), "PriceAmount", price, currencyID=doc.currency)


def _header(root: etree._Element, doc: InvoiceDocument, customization: str, credit: bool) -> None:
    _cbc(root, "CustomizationID", customization)
    _cbc(root, "ProfileID", PEPPOL_PROFILE)
    _cbc(root, "ID", doc.invoice_number)
    _cbc(root, "IssueDate", doc.issue_date)
    if doc.due_date and not credit:  # the CreditNote schema has no DueDate; its terms say when it is refunded
        _cbc(root, "DueDate", doc.due_date)
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", doc.type_code)
    if doc.note:
        _cbc(root, "Note", doc.note)
    _cbc(root, "DocumentCurrencyCode", doc.currency)
    _cbc(root, "BuyerReference", doc.buyer_reference or doc.external_ref)
    period = _cac(root, "InvoicePeriod")
    _cbc(period, "StartDate", doc.period_start)
    _cbc(period, "EndDate", doc.period_end)
    if doc.preceding_invoice:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", doc.preceding_invoice.number)
        _cbc(reference, "IssueDate", doc.preceding_invoice.issue_date)


def _payment(root: etree._Element, doc: InvoiceDocument, credit: bool) -> None:
    seller = doc.seller
    if seller.iban and not credit:  # a credit note is paid by the seller: the seller's account is no payee
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", payment_means_code(seller.iban))
        _cbc(means, "PaymentID", doc.remittance)
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", seller.iban)
        _cbc(account, "Name", seller.name)
        if seller.bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", seller.bic)
    if doc.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", doc.payment_terms)


def ubl_xml(doc: InvoiceDocument, customization: str = PEPPOL_CUSTOMIZATION) -> bytes:
    """The UBL 2.1 Invoice (or CreditNote for type 381); ``customization`` is BT-24, Peppol BIS 3 by default or
    :data:`XRECHNUNG_CUSTOMIZATION`."""
    credit = doc.type_code == "381"
    namespace = UBL_CREDIT_NOTE if credit else UBL_INVOICE
    root = etree.Element(f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    _header(root, doc, customization, credit)
    seller, buyer = doc.seller, doc.buyer
    registration = (seller.registration_scheme, seller.registration_id) if seller.registration_id else None
    _party(root, "AccountingSupplierParty", seller.name, seller.address, seller.vat_id, registration,
           (seller.electronic_address, seller.electronic_scheme), seller.contact)
    buyer_scheme = buyer.electronic_scheme
    if customization == PEPPOL_CUSTOMIZATION and buyer_scheme == EMAIL_SCHEME:
        buyer_scheme = None  # no Peppol address: the delivery channel check keeps this file away from Peppol
    _party(root, "AccountingCustomerParty", buyer.name, buyer.address, buyer.vat_id, None,
           (buyer.electronic_address, buyer_scheme), buyer.contact)
    _payment(root, doc, credit)
    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", _money(doc, doc.total_vat), currencyID=doc.currency)
    for row in doc.vat_breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", _money(doc, row.taxable_amount), currencyID=doc.currency)
        _cbc(subtotal, "TaxAmount", _money(doc, row.tax_amount), currencyID=doc.currency)
        _category(subtotal, "TaxCategory", row.category, row.rate, row.exemption_reason_code, row.exemption_reason)
    totals = _cac(root, "LegalMonetaryTotal")
    for tag, value in (("LineExtensionAmount", doc.total_net), ("TaxExclusiveAmount", doc.total_net),
                       ("TaxInclusiveAmount", doc.total_gross), ("PayableAmount", doc.amount_due)):
        _cbc(totals, tag, _money(doc, value), currencyID=doc.currency)
    for line in doc.lines:
        _line(root, doc, line, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
