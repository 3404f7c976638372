"""E-invoice files for an ``InvoiceDocument``: UBL 2.1 (Peppol BIS Billing 3.0) and Factur-X / ZUGFeRD (EN 16931).

Why from the document and nothing else: the amounts, the VAT breakdown per (category, rate) rounded half up once per
invoice (BR-CO-17) and the totals were checked when the document was built, so the files only map fields. The
Factur-X XML is built with drafthorse (its model follows the CII schema and serialises per profile) and embedded into
a PDF with the factur-x library, which checks the XML against the Factur-X XSD and writes the XMP metadata. The
visible PDF the XML is embedded into is ``erp_export.invoice_page``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Literal

import facturx
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration, URIUniversalCommunication
from drafthorse.models.payment import PaymentTerms
from drafthorse.models.tradelines import LineItem
from lxml import etree

from erp_export.documents import Address, InvoiceDocument, InvoiceLine, minor_unit

Format = Literal["ubl", "facturx"]

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
_NO_RATE_CATEGORIES = {"O"}  # BR-O-05: no rate for "not subject to VAT"


# ---------------------------------------------------------------------------------------------------------------
# UBL 2.1 / Peppol BIS Billing 3.0


def _cbc(parent: etree._Element, name: str, text: object, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text if isinstance(text, str) else plain(text)
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def plain(value: object) -> str:
    """A number or date as e-invoices and the visible page write it (no exponent, ISO dates)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(doc: InvoiceDocument, amount: Decimal) -> str:
    return format(amount.quantize(minor_unit(doc.currency)), "f")


def _ubl_party(parent: etree._Element, role: str, name: str, address: Address, vat_id: str | None,
               registration: tuple[str | None, str] | None, endpoint: str | None, scheme: str | None) -> None:
    party = _cac(_cac(parent, role), "Party")
    if endpoint and scheme:
        _cbc(party, "EndpointID", endpoint, schemeID=scheme)
    _cbc(_cac(party, "PartyName"), "Name", name)
    postal = _cac(party, "PostalAddress")
    if address.street:
        _cbc(postal, "StreetName", address.street)
    if address.city:
        _cbc(postal, "CityName", address.city)
    if address.postal_code:
        _cbc(postal, "PostalZone", address.postal_code)
    _cbc(_cac(postal, "Country"), "IdentificationCode", address.country)
    if vat_id:
        tax = _cac(party, "PartyTaxScheme")
        _cbc(tax, "CompanyID", vat_id)
        _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    if registration:
        registration_scheme, registration_id = registration
        _cbc(legal, "CompanyID", registration_id, **({"schemeID": registration_scheme} if registration_scheme else {}))


def _ubl_category(parent: etree._Element, tag: str, category: str, rate: Decimal,
                  reason: str | None = None) -> None:
    element = _cac(parent, tag)
    _cbc(element, "ID", category)
    if category not in _NO_RATE_CATEGORIES:
        _cbc(element, "Percent", rate)
    if reason:
        _cbc(element, "TaxExemptionReason", reason)
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _ubl_line(root: etree._Element, doc: InvoiceDocument, line: InvoiceLine, credit: bool) -> None:
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
    _ubl_category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    _cbc(_cac(element, "Price"), "PriceAmount", price, currencyID=doc.currency)


def ubl_xml(doc: InvoiceDocument) -> bytes:
    """The UBL 2.1 Invoice (or CreditNote for type 381) in Peppol BIS Billing 3.0, elements in schema order."""
    credit = doc.type_code == "381"
    root = etree.Element(f"{{{UBL_CREDIT_NOTE if credit else UBL_INVOICE}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: UBL_CREDIT_NOTE if credit else UBL_INVOICE, "cac": CAC, "cbc": CBC})
    _cbc(root, "CustomizationID", PEPPOL_CUSTOMIZATION)
    _cbc(root, "ProfileID", PEPPOL_PROFILE)
    _cbc(root, "ID", doc.invoice_number)
    _cbc(root, "IssueDate", doc.issue_date)
    if doc.due_date and not credit:
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
    seller, buyer = doc.seller, doc.buyer
    registration = (seller.registration_scheme, seller.registration_id) if seller.registration_id else None
    _ubl_party(root, "AccountingSupplierParty", seller.name, seller.address, seller.vat_id, registration,
               seller.electronic_address, seller.electronic_scheme)
    _ubl_party(root, "AccountingCustomerParty", buyer.name, buyer.address, buyer.vat_id, None,
               buyer.electronic_address, buyer.electronic_scheme)
    if seller.iban and not credit:  # a credit note is paid by the seller: the seller's account is no payee
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "58" if seller.address.country != "GB" else "30")
        _cbc(means, "PaymentID", doc.invoice_number)
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", seller.iban)
    if doc.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", doc.payment_terms)
    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", _money(doc, doc.total_vat), currencyID=doc.currency)
    for row in doc.vat_breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", _money(doc, row.taxable_amount), currencyID=doc.currency)
        _cbc(subtotal, "TaxAmount", _money(doc, row.tax_amount), currencyID=doc.currency)
        _ubl_category(subtotal, "TaxCategory", row.category, row.rate, row.exemption_reason)
    totals = _cac(root, "LegalMonetaryTotal")
    _cbc(totals, "LineExtensionAmount", _money(doc, doc.total_net), currencyID=doc.currency)
    _cbc(totals, "TaxExclusiveAmount", _money(doc, doc.total_net), currencyID=doc.currency)
    _cbc(totals, "TaxInclusiveAmount", _money(doc, doc.total_gross), currencyID=doc.currency)
    _cbc(totals, "PayableAmount", _money(doc, doc.amount_due), currencyID=doc.currency)
    for line in doc.lines:
        _ubl_line(root, doc, line, credit)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------------------------------------------
# Factur-X / ZUGFeRD, profile EN 16931


def facturx_xml(doc: InvoiceDocument) -> bytes:
    """The CII XML of the Factur-X EN 16931 profile, built with drafthorse."""
    cii = Document()
    cii.context.guideline_parameter.id = EN16931_GUIDELINE
    cii.header.id = doc.invoice_number
    cii.header.type_code = doc.type_code
    cii.header.issue_date_time = doc.issue_date
    if doc.note:
        cii.header.notes.add(_note(doc.note))
    agreement = cii.trade.agreement
    agreement.buyer_reference = doc.buyer_reference or doc.external_ref
    seller, buyer = doc.seller, doc.buyer
    for party, name, address, vat_id, endpoint, scheme in (
        (agreement.seller, seller.name, seller.address, seller.vat_id, seller.electronic_address,
         seller.electronic_scheme),
        (agreement.buyer, buyer.name, buyer.address, buyer.vat_id, buyer.electronic_address,
         buyer.electronic_scheme),
    ):
        party.name = name
        party.address.country_id = address.country
        if address.street:
            party.address.line_one = address.street
        if address.city:
            party.address.city_name = address.city
        if address.postal_code:
            party.address.postcode = address.postal_code
        if endpoint and scheme:
            party.electronic_address.add(URIUniversalCommunication(uri_ID=(scheme, endpoint)))
        if vat_id:
            party.tax_registrations.add(TaxRegistration(id=("VA", vat_id)))
    if seller.registration_id:
        agreement.seller.legal_organization.id = (seller.registration_scheme or "", seller.registration_id)
    settlement = cii.trade.settlement
    settlement.currency_code = doc.currency
    settlement.payment_reference = doc.invoice_number
    if seller.iban and doc.type_code != "381":
        settlement.payment_means.type_code = "58"
        settlement.payment_means.payee_account.iban = seller.iban
    else:
        settlement.payment_means.type_code = "1"
    for row in doc.vat_breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = row.tax_amount
        tax.basis_amount = row.taxable_amount
        tax.type_code = "VAT"
        tax.category_code = row.category
        if row.exemption_reason:
            tax.exemption_reason = row.exemption_reason
        tax.rate_applicable_percent = row.rate
        settlement.trade_tax.add(tax)
    settlement.period.start = doc.period_start
    settlement.period.end = doc.period_end
    if doc.preceding_invoice:
        settlement.invoice_referenced_document.issuer_assigned_id = doc.preceding_invoice.number
        settlement.invoice_referenced_document.issue_date_time = doc.preceding_invoice.issue_date
    if doc.due_date or doc.payment_terms:
        terms = PaymentTerms()
        terms.description = doc.payment_terms or f"Due {doc.due_date.isoformat()}"  # type: ignore[union-attr]
        if doc.due_date:
            terms.due = doc.due_date
        settlement.terms.add(terms)
    summation = settlement.monetary_summation
    summation.line_total = doc.total_net
    summation.charge_total = Decimal("0.00")
    summation.allowance_total = Decimal("0.00")
    summation.tax_basis_total = doc.total_net
    summation.tax_total = (doc.total_vat, doc.currency)
    summation.grand_total = doc.total_gross
    summation.due_amount = doc.amount_due
    for number, line in enumerate(doc.lines, start=1):
        item = LineItem()
        item.document.line_id = str(number)
        item.document.notes.add(_note(line.key))
        item.product.seller_assigned_id = line.account
        item.product.name = line.description[:100]
        item.agreement.net.amount = line.unit_price
        item.delivery.billed_quantity = (line.quantity, line.unit_code)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.vat_category
        item.settlement.trade_tax.rate_applicable_percent = line.vat_rate
        item.settlement.period.start = line.period_start
        item.settlement.period.end = line.period_end
        item.settlement.monetary_summation.total_amount = line.net_amount
        cii.trade.items.add(item)
    return cii.serialize(schema="FACTUR-X_EN16931")


def _note(text: str) -> IncludedNote:
    note = IncludedNote()
    note.content.add(text)
    return note


def facturx_pdf(doc: InvoiceDocument) -> bytes:
    """A Factur-X (EN 16931) PDF: the invoice laid out on A4 with the CII XML embedded and checked by the factur-x
    library against its XSD."""
    xml = facturx_xml(doc)
    kind = "Credit note" if doc.type_code == "381" else "Invoice"
    metadata = {"author": doc.seller.name, "keywords": f"Factur-X, {kind}",
                "title": f"{doc.seller.name}: {kind} {doc.invoice_number}",
                "subject": f"Factur-X {kind.lower()} {doc.invoice_number} dated {doc.issue_date.isoformat()}"}
    from erp_export.invoice_page import invoice_page  # reportlab loads only when a PDF is made

    return facturx.generate_from_binary(invoice_page(doc), xml, flavor="factur-x", level="en16931",
                                        check_xsd=True, pdf_metadata=metadata, lang="en-GB")


def write_files(doc: InvoiceDocument, directory: Path, formats: Iterable[Format] = ("ubl", "facturx")) -> list[Path]:
    """Write the chosen e-invoice files for ``doc`` into ``directory``; names carry the invoice number."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind in formats:
        path = directory / (f"{doc.invoice_number}.ubl.xml" if kind == "ubl" else f"{doc.invoice_number}.pdf")
        path.write_bytes(ubl_xml(doc) if kind == "ubl" else facturx_pdf(doc))
        written.append(path)
    return written
