"""Every e-invoice file cspbill writes passes the official EN 16931 and Peppol BIS Billing 3.0 rules with no fatal
finding: a domestic invoice with full master data, reverse charge (AE) to an EU business, not subject to VAT (O)
outside the EU, a credit note referring to the invoice it corrects (NL-R-001), and a German public buyer with a
Leitweg-ID (XRechnung). The master data is set in the test ledger directly, as the desk or `cspbill customer` would.

Rules: docs.peppol.eu/poacc/billing/3.0 (rules and code lists), github.com/ConnectingEurope/eInvoicing-EN16931.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from lxml import etree
from stdnum import iso11649

from config import Settings
from erp_export.documents import vat_amount
from ledger.models import Batch, Customer, Invoice, InvoiceLine
from rating.payments.reference import creditor_reference
from services.errors import ValidationFailed
from services.export import invoice_files
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.einvoice_rules import fatal_findings, pdfa3_problems, rules_or_skip
from tests.identity import actor

NOW = dt.datetime(2026, 6, 2, 9, 0, tzinfo=dt.UTC)
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}
NL_BUYER = {"country": "NL", "vat_id": "NL987654321B01", "street": "Damrak 5", "city": "Amsterdam",
            "postal_code": "1012 LG", "peppol_scheme": "0106", "peppol_id": "87654321", "email": "ap@klant.example"}
BE_BUYER = {"country": "BE", "vat_id": "BE0123456749", "street": "Rue Neuve 1", "city": "Bruxelles",
            "postal_code": "1000", "peppol_scheme": "0208", "peppol_id": "0123456749", "payment_terms_days": 45}
US_BUYER = {"country": "US", "vat_id": None, "street": "1 Main Street", "city": "Seattle", "postal_code": "98101",
            "email": "payables@contoso.example"}
DE_PUBLIC = {"country": "DE", "vat_id": None, "street": "Alexanderplatz 1", "city": "Berlin",
             "postal_code": "10178", "leitweg_id": "991-12345-67", "peppol_scheme": "0204",
             "peppol_id": "991-12345-67", "email": "rechnung@bezirksamt.example"}
Line = tuple[str, str, str, str, dt.date, dt.date]  # category, rate, quantity, unit price, period from, period to
MAY = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
JUNE_TERM = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))  # a licence billed in advance


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def issue(settings: Settings, tenant: str, reference: str, master: dict[str, Any], lines: list[Line],
          number: str, month: str = "2026-05", corrects: tuple[int, str] | None = None) -> int:
    """One issued invoice (or credit note when its total is negative) of a customer with ``master`` data."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_row = uow.tenants.by_code(tenant)
        batch = Batch(tenant_id=tenant_row.id, month=month, status="draft", built_by="finn", totals={})
        customer = Customer(tenant_id=tenant_row.id, name=f"Customer {reference}", reference=reference, **master)
        session.add_all([batch, customer])
        session.flush()
        rows, taxable = [], {}
        for n, (category, rate, quantity, price, start, end) in enumerate(lines, start=1):
            amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            taxable[(category, Decimal(rate))] = taxable.get((category, Decimal(rate)), Decimal(0)) + amount
            key = f"{tenant}:c{customer.id}:sub{n}:{month}:charge:v1"
            rows.append(InvoiceLine(tenant_id=tenant_row.id, customer_id=customer.id, line_key=key,
                                    base_key=key.rsplit(":", 1)[0], version=1, kind="charge",
                                    description=f"Example 365 E3 seats {start}..{end}", period_from=start,
                                    period_to=end, quantity=Decimal(quantity), unit_price=Decimal(price),
                                    amount=amount, unrounded=amount, currency="EUR", vat_rate=Decimal(rate),
                                    vat_category=category, lineage={}))
        net = sum(taxable.values(), Decimal(0))
        vat = sum((vat_amount(amount, rate, "EUR") for (_, rate), amount in taxable.items()), Decimal(0))
        invoice = Invoice(batch_id=batch.id, tenant_id=tenant_row.id, customer_id=customer.id,
                          invoice_key=f"{tenant}:{month}:{reference}", currency="EUR", net=net, vat=vat,
                          gross=net + vat, vat_breakdown=[], status="draft", lines=rows)
        session.add(invoice)
        session.flush()
        invoice.number, invoice.issue_date, invoice.status = number, dt.date(2026, 6, 1), "approved"
        if net < 0:
            invoice.document_type = "381"
            if corrects:
                invoice.corrects_invoice_id = corrects[0]
                invoice.corrected_invoices = [{"id": corrects[0], "number": corrects[1], "issue_date": "2026-05-01"}]
        batch.status, batch.approved_by, batch.approved_at = "approved", "anna", NOW
        return invoice.id


def nl_domestic(settings: Settings) -> int:
    return issue(settings, "nl-bv", "C00001", NL_BUYER,
                 [("S", "21", "25", "31.20", *JUNE_TERM), ("S", "21", "3", "10.555", *MAY)], "NL2026-00001")


CASES: dict[str, tuple[str, Callable[[Settings], int]]] = {
    "domestic, line periods in advance and in arrears": ("anna", nl_domestic),
    "reverse charge to an EU business": ("anna", lambda s: issue(
        s, "nl-bv", "C00002", BE_BUYER, [("AE", "0", "10", "12.40", *MAY), ("AE", "0", "1", "99.99", *JUNE_TERM)],
        "NL2026-00002")),
    "not subject to VAT outside the EU": ("greta", lambda s: issue(
        s, "de-gmbh", "D00003", US_BUYER, [("O", "0", "4", "20.00", *MAY)], "DE2026-00003")),
    "credit note with the invoice it corrects": ("anna", lambda s: issue(
        s, "nl-bv", "C00004", NL_BUYER, [("S", "21", "-2", "31.20", *MAY)], "NL2026-00004", month="2026-06",
        corrects=(nl_domestic(s), "NL2026-00001"))),
    "German public buyer": ("greta", lambda s: issue(
        s, "de-gmbh", "D00005", DE_PUBLIC, [("S", "19", "12", "10.50", *MAY)], "DE2026-00005")),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_every_format_passes_en16931_and_peppol(ledger: Settings, case: str) -> None:
    rules_or_skip()
    username, make = CASES[case]
    invoice_id = make(ledger)
    files = invoice_files(ledger, actor(ledger, username), invoice_id, ("ubl", "cii", "facturx", "xrechnung"))
    for file in files:
        # XRechnung carries its own specification identifier, which Peppol BIS (R004) does not accept; a customer
        # without a Peppol id gets no Peppol file (R010: the buyer's Peppol address is mandatory)
        peppol = file.format == "ubl" and case != "not subject to VAT outside the EU"
        findings = fatal_findings(file.content, peppol=peppol)
        assert findings == {}, f"{file.name}: {findings}"


def ubl_of(settings: Settings, username: str, invoice_id: int, fmt: str = "ubl") -> etree._Element:
    [file] = invoice_files(settings, actor(settings, username), invoice_id, (fmt,))
    return etree.fromstring(file.content)


def test_master_data_fills_parties_payment_and_periods(ledger: Settings) -> None:
    root = ubl_of(ledger, "anna", nl_domestic(ledger))
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller.findtext("cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS) == \
        "Wolkwerk Cloud Services B.V."
    assert seller.find("cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0106"  # BT-30-1
    assert seller.findtext("cac:Contact/cbc:ElectronicMail", namespaces=NS) == "billing@wolkwerk.example"
    assert seller.findtext("cac:PostalAddress/cbc:StreetName", namespaces=NS) == "Keizersgracht 100"
    buyer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    endpoint = buyer.find("cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("0106", "87654321")  # BT-49 from the Peppol id
    assert buyer.findtext("cac:PostalAddress/cbc:PostalZone", namespaces=NS) == "1012 LG"
    means = root.find("cac:PaymentMeans", NS)
    assert means.findtext("cbc:PaymentMeansCode", namespaces=NS) == "58"
    assert means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == "NL91ABNA0417164300"
    assert means.findtext("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", namespaces=NS) == \
        "ABNANL2A"
    number = root.findtext("cbc:ID", namespaces=NS)
    reference = means.findtext("cbc:PaymentID", namespaces=NS)  # BT-83: the ISO 11649 reference payments match on
    assert reference == creditor_reference(number) and iso11649.is_valid(reference)
    assert root.findtext("cbc:DueDate", namespaces=NS) == "2026-06-15"  # the legal entity's 14 days
    assert "14 days" in root.findtext("cac:PaymentTerms/cbc:Note", namespaces=NS)
    period = root.find("cac:InvoicePeriod", NS)  # spans the lines: May in arrears, June in advance
    assert (period.findtext("cbc:StartDate", namespaces=NS), period.findtext("cbc:EndDate", namespaces=NS)) == \
        ("2026-05-01", "2026-06-30")


def test_customer_terms_reverse_charge_and_leitweg_id(ledger: Settings) -> None:
    _, make = CASES["reverse charge to an EU business"]
    root = ubl_of(ledger, "anna", make(ledger))
    assert root.findtext("cbc:DueDate", namespaces=NS) == "2026-07-16"  # the customer's 45 days
    category = root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert category.findtext("cbc:ID", namespaces=NS) == "AE"
    assert category.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == "VATEX-EU-AE"
    _, make = CASES["German public buyer"]
    xrechnung = ubl_of(ledger, "greta", make(ledger), "xrechnung")
    assert xrechnung.findtext("cbc:CustomizationID", namespaces=NS).endswith("xrechnung_3.0")
    assert xrechnung.findtext("cbc:BuyerReference", namespaces=NS) == "991-12345-67"  # BT-10
    endpoint = xrechnung.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (endpoint.get("schemeID"), endpoint.text) == ("0204", "991-12345-67")  # Leitweg-ID as Peppol id


def test_credit_note_refers_to_the_corrected_invoice(ledger: Settings) -> None:
    _, make = CASES["credit note with the invoice it corrects"]
    root = ubl_of(ledger, "anna", make(ledger))
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS) == \
        "NL2026-00001"


def test_not_subject_invoices_name_no_vat_ids_and_mixing_is_refused(ledger: Settings) -> None:
    _, make = CASES["not subject to VAT outside the EU"]
    invoice_id = make(ledger)
    root = ubl_of(ledger, "greta", invoice_id)
    assert root.find(".//cac:PartyTaxScheme", NS) is None  # BR-O-02
    assert root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS) is None  # no Peppol id: none
    endpoint = ubl_of(ledger, "greta", invoice_id, "xrechnung").find(
        "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)  # EN 16931 takes the e-mail address
    assert (endpoint.get("schemeID"), endpoint.text) == ("EM", "payables@contoso.example")
    mixed = issue(ledger, "de-gmbh", "D00006", US_BUYER, [("O", "0", "1", "5.00", *MAY),
                                                          ("S", "19", "1", "5.00", *MAY)], "DE2026-00006",
                  month="2026-07")
    with pytest.raises(ValidationFailed, match="BR-O-11"):
        invoice_files(ledger, actor(ledger, "greta"), mixed, ("ubl",))


def test_channel_decides_the_files_and_pdf_is_pdfa(ledger: Settings) -> None:
    files = invoice_files(ledger, actor(ledger, "anna"), nl_domestic(ledger))
    assert [(f.format, f.name) for f in files] == [("facturx", "NL2026-00001.pdf")]
    _, make = CASES["German public buyer"]
    files = invoice_files(ledger, actor(ledger, "greta"), make(ledger))
    assert [f.format for f in files] == ["xrechnung", "pdf"]
    assert pdfa3_problems(files[1].content) == []
