"""The standard page operations the sandbox WSDL lacked (issue 17): UpdateMultiple, IsUpdated, GetRecIdFromKey,
ReadByRecId, called through zeep from the served WSDL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep.exceptions

from erp_export.bc_soap import BcSoapExporter
from sandbox import bc_soap as sandbox
from sandbox.core import Clock, SandboxApp, SandboxServer
from tests.erp_export.conftest import serve
from tests.erp_export.test_bc_soap import config, erp_state


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
