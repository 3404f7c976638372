"""BC SOAP as it behaves live (issue 17): the standard page operations the sandbox WSDL lacked (UpdateMultiple,
IsUpdated, GetRecIdFromKey, ReadByRecId) through zeep, and posting through a named codeunit web service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep.exceptions

from erp_export.base import ErpRejected, export_document
from erp_export.bc_soap import BcSoapExporter
from erp_export.bc_soap_codeunit import PostCodeunit
from sandbox import bc_soap as sandbox
from sandbox.core import Clock, SandboxApp, SandboxServer
from tests.erp_export.conftest import serve
from tests.erp_export.samples import invoice
from tests.erp_export.test_bc_soap import FAST, POSTING, config, erp_state


@pytest.fixture
def page(clock: Clock, state_dir: Path) -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = sandbox.build(clock, seed=1, state_dir=state_dir)
    yield from ((app, server) for server in serve(app, sandbox.PREFIX))


def test_standard_page_operations(page: tuple[SandboxApp, SandboxServer]) -> None:
    """Every page published as a SOAP service has Create, CreateMultiple, Delete, Delete_<part>, GetRecIdFromKey,
    IsUpdated, Read, ReadByRecId, ReadMultiple, Update and UpdateMultiple: ``bool IsUpdated(string key)``,
    ``string GetRecIdFromKey(string key)``, ``Entity ReadByRecId(string formattedRecId)`` (no fault, null when
    missing), ``void UpdateMultiple(ref Entity[] entity)`` (atomic).
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/basic-page-operations
    https://learn.microsoft.com/en-us/previous-versions/dynamicsnav-2018-developer/readbyrecid-operation
    """
    _, server = page
    service = BcSoapExporter(config(server)).service()
    first = service.Create(SalesInvoice={"Sell_to_Customer_No": "C00001", "External_Document_No": "CSP-A-1"})
    second = service.Create(SalesInvoice={"Sell_to_Customer_No": "C00002", "External_Document_No": "CSP-A-2"})
    assert service.IsUpdated(Key=first.Key) is False

    rec_id = service.GetRecIdFromKey(Key=first.Key)
    assert rec_id == f"Sales Header: Invoice,{first.No}"
    assert service.ReadByRecId(recId=rec_id.upper()).External_Document_No == "CSP-A-1"
    assert service.ReadByRecId(recId="Sales Header: Invoice,SI999999") is None

    updated = service.UpdateMultiple(SalesInvoice_List={"SalesInvoice": [
        {"Key": first.Key, "Your_Reference": "one"}, {"Key": second.Key, "Your_Reference": "two"}]})
    assert [row.Your_Reference for row in updated] == ["one", "two"]
    assert service.IsUpdated(Key=first.Key) is True
    assert service.GetRecIdFromKey(Key=updated[0].Key) == rec_id  # the record id outlives the Key

    with pytest.raises(zeep.exceptions.Fault, match="Other user has modified"):
        service.UpdateMultiple(SalesInvoice_List={"SalesInvoice": [
            {"Key": updated[0].Key, "Your_Reference": "three"}, {"Key": second.Key, "Your_Reference": "four"}]})
    assert sorted(row["Your_Reference"] for row in erp_state(server)["invoices"]) == ["one", "two"]  # atomic
    with pytest.raises(zeep.exceptions.Fault, match="not valid"):
        service.GetRecIdFromKey(Key="nonsense")


def test_posting_goes_through_the_codeunit_published_under_the_configured_name(clock: Clock,
                                                                                 state_dir: Path) -> None:
    """Standard pages have no Post over SOAP; a codeunit published as a web service is reached at
    ``…/WS/<company>/Codeunit/<service>`` with namespace ``urn:microsoft-dynamics-schemas/codeunit/<service>``.
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/soap-web-service-uris
    https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/basic-page-operations
    """
    app = sandbox.build(clock, seed=1, state_dir=state_dir, post_codeunit="ContosoSalesPosting")
    for server in serve(app, sandbox.PREFIX):
        named = PostCodeunit("ContosoSalesPosting", sandbox.POSTING.post, sandbox.POSTING.find_posted)
        doc = invoice(30)
        result = export_document(BcSoapExporter(config(server, post_codeunit=named)), doc, post=True, policy=FAST)
        assert result.ref.status == "posted" and result.ref.number.startswith("PSI")
        assert [row["External_Document_No"] for row in erp_state(server)["posted"]] == [doc.external_ref]
        default = BcSoapExporter(config(server, post_codeunit=POSTING))  # not published under that name here
        with pytest.raises(ErpRejected, match=r"no codeunit service CspbillPosting at .*/Codeunit/CspbillPosting"):
            export_document(default, invoice(31), post=True, policy=FAST)
