"""The mapped revenue account and VAT code reach each ERP, and each sandbox refuses an account or VAT code its company
does not have, with the vendor's error, through the real adapters.

Documented fields:
- BC API v2.0 salesInvoiceLine: ``lineType`` (Comment, Account, Item, ...), ``lineObjectNumber`` (the G/L account or
  item no.), ``taxCode`` (the VAT product posting group):
  https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoiceline
  https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/api/dynamics_salesinvoiceline_create
- BC SOAP pages: Sales Line ``Type`` "G/L Account" (Enum "Sales Line Type",
  https://microsoft.github.io/BCApps/reference/base-application/Enum/Microsoft.Sales.Document.Sales-Line-Type.html),
  ``No.``, ``VAT Prod. Posting Group``; Sales Header ``VAT Bus. Posting Group`` (copied from the customer, changeable;
  VAT Posting Setup is looked up by the pair of groups):
  https://learn.microsoft.com/en-us/previous-versions/dynamicsnav-2016/hh898808(v=nav.90)
- Exact Online SalesEntryLines ``GLAccount`` (guid of a revenue account) and ``VATCode``:
  https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=SalesEntrySalesEntryLines ,
  ``financial/GLAccounts``: https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=FinancialGLAccounts
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from erp_export.base import ErpRejected, export_document
from erp_export.bc_soap import BcSoapExporter
from erp_export.bc_soap_pages import VAT_BUSINESS_GROUP
from erp_export.documents import InvoiceDocument, InvoiceLine, compose
from sandbox.core import SandboxApp, SandboxServer
from sandbox.exact_online.division import master_data
from tests.erp_export.samples import SELLER, buyer, invoice, line
from tests.erp_export.test_bc_rest import FAST, Bc, bc  # noqa: F401 - bc is a fixture used here
from tests.erp_export.test_bc_soap import config, erp_state, soap  # noqa: F401 - soap is a fixture used here
from tests.erp_export.test_exact_online import Exact, exact  # noqa: F401 - exact is a fixture used here

EXACT_SEED = 3  # the seed tests.erp_export.test_exact_online builds its sandbox with


def with_reverse_charge(seq: int, *lines: InvoiceLine) -> InvoiceDocument:
    """Like ``samples.invoice`` but with reverse-charge, exempt and out-of-scope lines allowed (their exemption
    reasons, BT-120). An invoice of out-of-scope lines only names no VAT identifiers (BR-O-02)."""
    seller, customer = SELLER, buyer("C00001", "BE")
    if {item.vat_category for item in lines} == {"O"}:
        seller, customer = replace(seller, vat_id=None), replace(customer, vat_id=None)
    return compose(external_ref=f"CSP-NL01-202605-{seq:04d}", invoice_number=f"NL01-2026-{seq:06d}",
                   issue_date=date(2026, 6, 1), due_date=date(2026, 7, 1), period_start=date(2026, 5, 1),
                   period_end=date(2026, 5, 31), seller=seller, buyer=customer, currency="EUR",
                   lines=lines, exemption_reasons={"AE": "Reverse charge", "E": "Exempt from VAT",
                                                   "O": "Not subject to VAT"})


def test_bc_rest_lines_carry_the_mapped_account_and_tax_code(bc: Bc) -> None:  # noqa: F811 - fixture
    doc = with_reverse_charge(71, line(1, "2", "10.00", account="8020"),
                              line(2, "1", "5.00", rate="0", category="AE", account="8030"))
    export_document(bc.exporter(tax_codes={"S:21": "STANDARD", "AE:0": "REVCHG"}), doc, policy=FAST)
    [stored] = [d for d in bc.state()["invoices"] if d["externalDocumentNumber"] == doc.external_ref]
    assert [(ln["lineType"], ln["lineObjectNumber"], ln["taxCode"]) for ln in stored["salesInvoiceLines"]] == [
        ("Account", "8020", "STANDARD"), ("Account", "8030", "REVCHG")]


@pytest.mark.parametrize(("overrides", "account", "message"), [
    ({}, "9999", "The G/L Account does not exist. Identification fields and values: No.='9999'"),
    ({"tax_codes": {"S:21": "NOSUCH"}}, "8010", "The VAT Posting Setup does not exist: 'NOSUCH'"),
])
def test_bc_rest_refuses_an_unknown_account_or_tax_code(bc: Bc, overrides: dict[str, object], account: str,  # noqa: F811
                                                       message: str) -> None:
    with pytest.raises(ErpRejected, match=message) as caught:
        export_document(bc.exporter(**overrides), invoice(72, lines=(line(1, "1", "9.99", account=account),)),
                        policy=FAST)
    assert caught.value.status == 400 and caught.value.code == "Application_DialogException"


def soap_exporter(server: SandboxServer, **overrides: object) -> BcSoapExporter:
    return BcSoapExporter(config(server, **overrides))


def test_bc_soap_lines_carry_the_mapped_account_groups_and_business_group(
        soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811 - fixture
    _, server = soap
    doc = with_reverse_charge(73, line(1, "2", "10.00", rate="0", category="AE", account="8030"))
    doc = replace(doc, extra={VAT_BUSINESS_GROUP: "EU"})
    export_document(soap_exporter(server, vat_groups={"AE:0": "REVCHG"}), doc, policy=FAST)
    [stored] = [d for d in erp_state(server)["invoices"] if d["External_Document_No"] == doc.external_ref]
    assert stored["VAT_Bus_Posting_Group"] == "EU"
    assert [(ln["Type"], ln["No"], ln["VAT_Prod_Posting_Group"]) for ln in stored["lines"]] == [
        ("G_L_Account", "8030", "REVCHG")]


@pytest.mark.parametrize(("overrides", "extra", "account", "message"), [
    ({}, {}, "9999", "The G/L Account does not exist. Identification fields and values: No.='9999'"),
    ({"vat_groups": {"S:21": "NOSUCH"}}, {VAT_BUSINESS_GROUP: "EU"}, "8010",
     "The VAT Posting Setup does not exist. Identification fields and values: VAT Bus. Posting Group='EU',"
     "VAT Prod. Posting Group='NOSUCH'"),
    ({}, {VAT_BUSINESS_GROUP: "MARS"}, "8010",
     "The VAT Business Posting Group does not exist. Identification fields and values: Code='MARS'"),
])
def test_bc_soap_refuses_an_unknown_account_or_posting_group(
        soap: tuple[SandboxApp, SandboxServer], overrides: dict[str, object],  # noqa: F811 - fixture
        extra: dict[str, str], account: str, message: str) -> None:
    _, server = soap
    doc = replace(invoice(74, lines=(line(1, "1", "9.99", account=account),)), extra=extra)
    with pytest.raises(ErpRejected, match=message) as caught:
        export_document(soap_exporter(server, **overrides), doc, policy=FAST)
    assert caught.value.code == "NavCSideRecordNotFoundException"
    assert erp_state(server)["invoices"] == []


def test_exact_lines_carry_the_mapped_gl_account_and_vat_code(exact: Exact) -> None:  # noqa: F811 - fixture
    exporter = exact.authorised(vat_codes={"S:21": "2  ", "AE:0": "5  "})
    doc = with_reverse_charge(75, line(1, "2", "10.00", account="8020"),
                              line(2, "1", "5.00", rate="0", category="AE", account="8030"))
    export_document(exporter, doc, policy=FAST)
    gl = {guid: row["Code"] for guid, row in master_data(EXACT_SEED)["gl"].items()}
    assert sorted((gl[ln["GLAccount"]], ln["VATCode"]) for ln in exact.state()["entry_lines"]) == [
        ("8020", "2  "), ("8030", "5  ")]


@pytest.mark.parametrize(("vat_codes", "account", "message"), [
    ({"S:21": "99 "}, "8010", "Ongeldig: BTW-code"),
    ({"S:21": "2  "}, "1300", "Ongeldig: Grootboekrekeningtype"),  # a balance account, not revenue
    ({"S:21": "2  "}, "9999", "G/L account '9999' does not exist"),  # our look-up in financial/GLAccounts
])
def test_exact_refuses_an_unknown_vat_code_or_gl_account(exact: Exact, vat_codes: dict[str, str],  # noqa: F811
                                                         account: str, message: str) -> None:
    exporter = exact.authorised(vat_codes=vat_codes)
    with pytest.raises(ErpRejected, match=message):
        export_document(exporter, invoice(76, lines=(line(1, "1", "9.99", account=account),)), policy=FAST)
    assert exact.state()["entries"] == []
