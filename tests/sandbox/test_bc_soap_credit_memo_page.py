"""The BC SOAP sandbox's Sales Credit Memo page against its documented contract, loaded by zeep unchanged.

Sources:
- SOAP page service URLs ``…/WS/<company>/Page/<service>``:
  https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/soap-web-service-uris
- Page operations (Read, ReadMultiple, Create, CreateMultiple, Update, Delete, Delete_<part>):
  https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/basic-page-operations
- Page 44 "Sales Credit Memo" (source table Sales Header, Document Type = Credit Memo): fields No., Sell-to Customer
  No., Posting Date, Document Date, Due Date, External Document No., Status, Applies-to Doc. Type, Applies-to Doc.
  No., Currency Code and the part SalesLines (page 96 "Sales Cr. Memo Subform"); the posted document is table 114
  "Sales Cr.Memo Header" whose "Applies-to Doc. Type" is Enum "Gen. Journal Document Type":
  https://learn.microsoft.com/en-us/dynamics365/business-central/application/base-application/table/microsoft.sales.history.sales-cr.memo-header
- Field names over SOAP are control names with non-alphanumerics as ``_`` (erp.md §1.3), so ``Applies_to_Doc_Type``
  with the options ``_blank_``, ``Payment``, ``Invoice``, ``Credit_Memo``, ``Finance_Charge_Memo``, ``Reminder``,
  ``Refund``. The line type name ``Sales_Cr_Memo_Line`` follows the invoice/order pages' pattern [inferred].
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from sandbox import bc_soap as sandbox
from sandbox.core import Clock, SandboxServer

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
MEMO = sandbox.SALES_CREDIT_MEMO
AUTH = (sandbox.CREDENTIALS["username"], sandbox.CREDENTIALS["password"])


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    running = SandboxServer(sandbox.build(Clock(), seed=1), prefix=sandbox.PREFIX).start()
    try:
        yield running
    finally:
        running.stop()


def url(server: SandboxServer, service: str = "SalesCreditMemo") -> str:
    return f"{server.url}{sandbox.PREFIX}/WS/{quote(sandbox.COMPANY)}/Page/{service}"


def service(server: SandboxServer, page: str = "SalesCreditMemo") -> Any:
    session = requests.Session()
    session.auth = AUTH
    client = zeep.Client(url(server, page), transport=Transport(session=session, timeout=5, operation_timeout=5))
    ns = f"urn:microsoft-dynamics-schemas/page/{page.lower()}"
    return client, client.create_service(f"{{{ns}}}{page}_Binding", url(server, page))


def codeunit(server: SandboxServer, name: str = sandbox.POSTING.service) -> Any:
    """The posting codeunit service: ``…/WS/<company>/Codeunit/<name>``, namespace keeping the name's case."""
    address = f"{server.url}{sandbox.PREFIX}/WS/{quote(sandbox.COMPANY)}/Codeunit/{name}"
    session = requests.Session()
    session.auth = AUTH
    client = zeep.Client(address, transport=Transport(session=session, timeout=5, operation_timeout=5))
    return client.create_service(f"{{urn:microsoft-dynamics-schemas/codeunit/{name}}}{name}_Binding", address)


def line(no: str = "8010", quantity: str = "19", price: str = "31.20") -> dict[str, Any]:
    return {"Type": "G_L_Account", "No": no, "Description": "Credit for April", "Description_2": "k1",
            "Quantity": Decimal(quantity), "Unit_Price": Decimal(price), "VAT_Prod_Posting_Group": "STANDARD"}


def test_the_wsdl_declares_the_credit_memo_page_in_its_own_namespace(server: SandboxServer) -> None:
    answer = requests.get(url(server), auth=AUTH, timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(answer.content)
    assert root.get("targetNamespace") == "urn:microsoft-dynamics-schemas/page/salescreditmemo"
    assert [b.get("name") for b in root.findall(f"{{{WSDL}}}binding")] == ["SalesCreditMemo_Binding"]
    schema = root.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    types = {t.get("name"): t for t in schema if t.get("name")}
    for name in ("SalesCreditMemo", "SalesCreditMemo_List", "SalesCreditMemo_Fields", "SalesCreditMemo_Filter",
                 "Sales_Cr_Memo_Line", "Sales_Cr_Memo_Line_List", "Applies_to_Doc_Type"):
        assert name in types, name
    header = [e.get("name") for e in types["SalesCreditMemo"].iter(f"{{{XSD}}}element")]
    assert header[0] == "Key" and header[-1] == "SalesLines"
    assert {"No", "Sell_to_Customer_No", "External_Document_No", "Posting_Date", "Document_Date",
            "Applies_to_Doc_Type", "Applies_to_Doc_No"} <= set(header)
    options = [e.get("value") for e in types["Applies_to_Doc_Type"].iter(f"{{{XSD}}}enumeration")]
    assert options == ["_blank_", "Payment", "Invoice", "Credit_Memo", "Finance_Charge_Memo", "Reminder", "Refund"]
    operations = {op.get("name") for op in root.find(f"{{{WSDL}}}portType")}
    assert operations == {"Read", "ReadMultiple", "Create", "CreateMultiple", "Update", "UpdateMultiple", "Delete",
                          "Delete_SalesLines", "IsUpdated", "GetRecIdFromKey", "ReadByRecId"}  # no Post: a codeunit
    actions = {op.find("{http://schemas.xmlsoap.org/wsdl/soap/}operation").get("soapAction")
               for op in root.find(f"{{{WSDL}}}binding").findall(f"{{{WSDL}}}operation")}
    assert "urn:microsoft-dynamics-schemas/page/salescreditmemo:Create" in actions
    address = root.find(f".//{{{WSDL}}}service//{{http://schemas.xmlsoap.org/wsdl/soap/}}address")
    assert address.get("location") == MEMO.wrong_address  # only create_service with our address works


def test_create_read_update_post_through_zeep_with_its_own_series_and_store(server: SandboxServer) -> None:
    _, memos = service(server)
    created = memos.Create(SalesCreditMemo={
        "Sell_to_Customer_No": "C00001", "External_Document_No": "CSP-NL-BV-NL2026-00003",
        "Posting_Date": date(2026, 6, 2), "SalesLines": {"Sales_Cr_Memo_Line": [line()]}})
    assert created.No == "S-CR100001" and created.Key
    [memo_line] = created.SalesLines.Sales_Cr_Memo_Line
    assert (memo_line.Line_No, memo_line.Line_Amount) == (10000, Decimal("592.80"))
    assert memo_line.Total_Amount_Incl_VAT == Decimal("717.29")  # 592.80 + 21 % VAT, positive: a credit
    found = memos.ReadMultiple(filter=[{"Field": "External_Document_No", "Criteria": "CSP-NL-BV-NL2026-00003"}],
                               setSize=2)
    assert [row.No for row in found] == ["S-CR100001"]
    updated = memos.Update(SalesCreditMemo={"Key": created.Key, "SalesLines": {"Sales_Cr_Memo_Line": [line("8020")]}})
    assert len(updated.SalesLines.Sales_Cr_Memo_Line) == 2 and updated.Key != created.Key
    with pytest.raises(zeep.exceptions.Fault, match="Other user has modified"):
        memos.Update(SalesCreditMemo={"Key": created.Key})
    posting = codeunit(server)
    assert getattr(posting, sandbox.POSTING.post)(documentKey=updated.Key) == "PS-CR100001"
    assert memos.Read(No="S-CR100001") is None  # a posted credit memo leaves the page
    assert getattr(posting, sandbox.POSTING.find_posted)(
        documentType="Credit Memo", externalDocumentNo="CSP-NL-BV-NL2026-00003") == "PS-CR100001"
    _, invoices = service(server, "SalesInvoice")
    assert invoices.ReadMultiple(filter=[{"Field": "External_Document_No", "Criteria": "CSP*"}], setSize=0) is None
    state = requests.get(f"{server.url}{sandbox.PREFIX}/__admin/state", timeout=5).json()
    assert (len(state["posted_credit_memos"]), state["invoices"], state["posted"]) == (1, [], [])


def test_applies_to_must_name_a_posted_invoice_of_the_customer(server: SandboxServer) -> None:
    _, invoices = service(server, "SalesInvoice")
    invoice = invoices.Create(SalesInvoice={"Sell_to_Customer_No": "C00001", "External_Document_No": "CSP-A",
                                            "SalesLines": {"Sales_Invoice_Line": [line()]}})
    posted = getattr(codeunit(server), sandbox.POSTING.post)(documentKey=invoice.Key)
    _, memos = service(server)
    for customer, kind, number in (("C00001", "Invoice", "PSI999999"), ("C00002", "Invoice", posted),
                                   ("C00001", "Payment", posted)):
        with pytest.raises(zeep.exceptions.Fault, match=r"Cust\. Ledger Entry does not exist") as refused:
            memos.Create(SalesCreditMemo={"Sell_to_Customer_No": customer, "Applies_to_Doc_Type": kind,
                                          "Applies_to_Doc_No": number})
        assert refused.value.code.endswith("NavCSideRecordNotFoundException")
    applied = memos.Create(SalesCreditMemo={"Sell_to_Customer_No": "C00001", "Applies_to_Doc_Type": "Invoice",
                                            "Applies_to_Doc_No": posted})
    assert (applied.Applies_to_Doc_Type, applied.Applies_to_Doc_No) == ("Invoice", posted)


def test_what_the_page_does_not_know_is_refused(server: SandboxServer) -> None:
    client, memos = service(server)
    with pytest.raises(zeep.exceptions.Fault, match="cannot be filtered"):
        memos.ReadMultiple(filter=[{"Field": "Applies_to_Doc_No", "Criteria": "X"}], setSize=1)
    with pytest.raises(TypeError):  # the WSDL's type has no such field: zeep refuses it before sending
        memos.Create(SalesCreditMemo={"Sell_to_Customer_No": "C00001", "Amount_Credited": 5})
    envelope = (f'<s:Envelope xmlns:s="{sandbox.SOAP_ENV}"><s:Body><PostInvoice xmlns="{MEMO.ns}"><Key>k</Key>'
                f'</PostInvoice></s:Body></s:Envelope>')
    wrong = requests.post(url(server), data=envelope, auth=AUTH, timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{MEMO.ns}:PostInvoice"'})
    assert wrong.status_code == 500 and b"not supported by page SalesCreditMemo" in wrong.content
    invoice_ns = requests.post(url(server), auth=AUTH, timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{sandbox.NS}:Read"'},
        data=envelope.replace(MEMO.ns, sandbox.NS).replace("PostInvoice", "Read"))
    assert invoice_ns.status_code == 500 and b"No operation in the SOAP body" in invoice_ns.content
    unauthorised = requests.get(url(server), timeout=5)
    assert unauthorised.status_code == 401 and unauthorised.content == b""
    assert client.get_type(f"{{{MEMO.ns}}}Sales_Cr_Memo_Line")  # zeep loaded the WSDL unchanged
