"""Contract: the VIES connector (zeep, from the WSDL) and the VIES sandbox speak the EU's checkVatService.

The service as the European Commission publishes it:
- WSDL http://ec.europa.eu/taxation_customs/vies/checkVatService.wsdl: target namespace
  ``urn:ec.europa.eu:taxud:vies:services:checkVat``, types in ``urn:ec.europa.eu:taxud:vies:services:checkVat:types``,
  document/literal SOAP 1.1 binding ``checkVatBinding`` of port type ``checkVatPortType``, service
  ``checkVatService`` at https://ec.europa.eu/taxation_customs/vies/services/checkVatService;
- operation ``checkVat(countryCode, vatNumber)`` -> ``checkVatResponse(countryCode, vatNumber, requestDate, valid,
  name?, address?)``; an unregistered number answers ``valid false`` with name and address ``---``;
- errors are SOAP faults whose faultstring is a code: INVALID_INPUT, SERVICE_UNAVAILABLE, MS_UNAVAILABLE, TIMEOUT,
  MS_MAX_CONCURRENT_REQ, GLOBAL_MAX_CONCURRENT_REQ (the list in the WSDL's documentation of the test service
  checkVatTestService.wsdl, https://ec.europa.eu/taxation_customs/vies/checkVatTestService.wsdl);
- Greece's VIES prefix is EL (https://ec.europa.eu/taxation_customs/vies/#/faq).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from connectors.vies import INVALID, UNAVAILABLE, VALID, ViesClient, split_vat_id
from sandbox import vies
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles

NOW = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
TYPES = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"


@pytest.fixture
def server(tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(vies.build(Clock(NOW)), tls=tls, prefix=vies.PREFIX) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, tls: TlsFiles) -> ViesClient:
    return ViesClient(f"{server.url}{vies.WSDL_PATH}", ca_bundle=str(tls.ca_cert), timeout=5)


def test_the_wsdl_declares_checkvat_at_the_published_names(server: SandboxServer, tls: TlsFiles) -> None:
    response = requests.get(f"{server.url}/taxation_customs/vies/checkVatService.wsdl", verify=str(tls.ca_cert),
                            timeout=5)
    root = etree.fromstring(response.content)
    assert root.get("targetNamespace") == "urn:ec.europa.eu:taxud:vies:services:checkVat"
    assert root.find(f"{{{WSDL_NS}}}service").get("name") == "checkVatService"
    assert root.find(f"{{{WSDL_NS}}}binding").get("name") == "checkVatBinding"
    [operation] = root.find(f"{{{WSDL_NS}}}portType").findall(f"{{{WSDL_NS}}}operation")
    assert operation.get("name") == "checkVat"
    schema = root.find(f"{{{WSDL_NS}}}types/{{http://www.w3.org/2001/XMLSchema}}schema")
    assert schema.get("targetNamespace") == TYPES


def test_a_registered_number_is_valid_with_name_and_the_request_is_document_literal(
        server: SandboxServer, client: ViesClient) -> None:
    answer = client.check("FR 40 303265045")
    assert (answer.country_code, answer.vat_number, answer.result) == ("FR", "40303265045", VALID)
    assert answer.name and answer.request_date == NOW.date()
    sent = etree.fromstring(server.app.received[-1].body)
    asked = sent.find(f"{{http://schemas.xmlsoap.org/soap/envelope/}}Body/{{{TYPES}}}checkVat")
    assert [child.tag.split("}")[1] for child in asked] == ["countryCode", "vatNumber"]
    assert server.app.received[-1].path == "/taxation_customs/vies/services/checkVatService"


def test_an_unregistered_number_is_invalid_and_bad_input_too(server: SandboxServer, client: ViesClient) -> None:
    assert client.check("FR40303265046").result == INVALID  # checksum fails: never registered
    requests.post(f"{server.url}/__admin/deregistered", json={"vat": "NL004495445B01"},
                  verify=client._session.verify, timeout=5)
    closed = client.check("NL004495445B01")
    assert (closed.result, closed.name, closed.address) == (INVALID, None, None)  # "---" is no name
    bad = client.check("US123456789")
    assert (bad.result, bad.fault) == (INVALID, "INVALID_INPUT")


def test_greek_ids_go_by_el() -> None:
    assert split_vat_id("GR094259216") == ("EL", "094259216")


@pytest.mark.parametrize("code", ["MS_UNAVAILABLE", "SERVICE_UNAVAILABLE", "MS_MAX_CONCURRENT_REQ", "TIMEOUT"])
def test_faults_and_outages_are_unavailable_never_invalid(server: SandboxServer, client: ViesClient, code: str) -> None:
    server.app.faults.arm("POST .*", "vies_fault", body=code)
    answer = client.check("ATU13585627")
    assert (answer.result, answer.fault) == (UNAVAILABLE, code)
    assert client.check("ATU13585627").result == VALID  # the next call is answered


def test_a_dropped_connection_or_missing_wsdl_is_unavailable(server: SandboxServer, client: ViesClient,
                                                             tls: TlsFiles) -> None:
    server.app.faults.arm("POST .*", "drop")
    assert client.check("ATU13585627").result == UNAVAILABLE
    nowhere = ViesClient(f"{server.url}/taxation_customs/vies/missing.wsdl", ca_bundle=str(tls.ca_cert), timeout=2)
    assert nowhere.check("ATU13585627").result == UNAVAILABLE
