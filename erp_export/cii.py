"""UN/CEFACT CII D16B for an ``InvoiceDocument``: the XML of the Factur-X / ZUGFeRD EN 16931 profile.

Why drafthorse: its model follows the CII schema and serialises against the Factur-X XSD of the chosen profile, so
element order and cardinalities come from the schema rather than from this module. Fields map one to one from the
checked document, as in ``erp_export.ubl`` (same business terms, other syntax).
"""

from __future__ import annotations

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration, TradeParty, URIUniversalCommunication
from drafthorse.models.payment import PaymentTerms
from drafthorse.models.tradelines import LineItem

from erp_export.documents import Address, Contact, InvoiceDocument
from erp_export.ubl import NO_RATE_CATEGORIES, payment_means_code

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"


def _note(text: str) -> IncludedNote:
    note = IncludedNote()
    note.content.add(text)
    return note


def _party(party: TradeParty, name: str, address: Address, vat_id: str | None, endpoint: str | None,
           scheme: str | None, contact: Contact) -> None:
    party.name = name
    party.address.country_id = address.country
    if address.street:
        party.address.line_one = address.street
    if address.city:
        party.address.city_name = address.city
    if address.postal_code:
        party.address.postcode = address.postal_code
    if contact.name or contact.phone or contact.email:
        if contact.name:
            party.contact.person_name = contact.name
        if contact.phone:
            party.contact.telephone.number = contact.phone
        if contact.email:
            party.contact.email.address = contact.email
    if endpoint and scheme:
        party.electronic_address.add(URIUniversalCommunication(uri_ID=(scheme, endpoint)))
    if vat_id:
        party.tax_registrations.add(TaxRegistration(id=("VA", vat_id)))


def _settlement(cii: Document, doc: InvoiceDocument) -> None:
    settlement = cii.trade.settlement
    seller = doc.seller
    settlement.currency_code = doc.currency
    settlement.payment_reference = doc.remittance
    if seller.iban and doc.type_code != "381":
        settlement.payment_means.type_code = payment_means_code(seller.iban)
        settlement.payment_means.payee_account.iban = seller.iban
        settlement.payment_means.payee_account.account_name = seller.name
        if seller.bic:
            settlement.payment_means.payee_institution.bic = seller.bic
    else:
        settlement.payment_means.type_code = "1"  # UNCL 4461: instrument not defined (the seller refunds)
    for row in doc.vat_breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = row.tax_amount
        tax.type_code = "VAT"
        if row.exemption_reason:
            tax.exemption_reason = row.exemption_reason
        tax.basis_amount = row.taxable_amount
        tax.category_code = row.category
        if row.exemption_reason_code:
            tax.exemption_reason_code = row.exemption_reason_code
        if row.category not in NO_RATE_CATEGORIES:
            tax.rate_applicable_percent = row.rate
        settlement.trade_tax.add(tax)
    settlement.period.start = doc.period_start
    settlement.period.end = doc.period_end
    if doc.due_date or doc.payment_terms:
        terms = PaymentTerms()
        terms.description = doc.payment_terms or f"Due {doc.due_date.isoformat()}"  # type: ignore[union-attr]
        if doc.due_date:
            terms.due = doc.due_date
        settlement.terms.add(terms)
    if doc.preceding_invoice:
        settlement.invoice_referenced_document.issuer_assigned_id = doc.preceding_invoice.number
        settlement.invoice_referenced_document.issue_date_time = doc.preceding_invoice.issue_date
    summation = settlement.monetary_summation
    summation.line_total = doc.total_net
    summation.tax_basis_total = doc.total_net
    summation.tax_total = (doc.total_vat, doc.currency)
    summation.grand_total = doc.total_gross
    summation.due_amount = doc.amount_due


def cii_xml(doc: InvoiceDocument) -> bytes:
    """The CII XML of the Factur-X EN 16931 profile (also what ZUGFeRD 2.x calls EN 16931 / COMFORT)."""
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
    _party(agreement.seller, seller.name, seller.address, seller.vat_id, seller.electronic_address,
           seller.electronic_scheme, seller.contact)
    _party(agreement.buyer, buyer.name, buyer.address, buyer.vat_id, buyer.electronic_address,
           buyer.electronic_scheme, buyer.contact)
    if seller.registration_id:
        agreement.seller.legal_organization.id = (seller.registration_scheme or "", seller.registration_id)
    _settlement(cii, doc)
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
        if line.vat_category not in NO_RATE_CATEGORIES:
            item.settlement.trade_tax.rate_applicable_percent = line.vat_rate
        item.settlement.period.start = line.period_start
        item.settlement.period.end = line.period_end
        item.settlement.monetary_summation.total_amount = line.net_amount
        cii.trade.items.add(item)
    return cii.serialize(schema="FACTUR-X_EN16931")
