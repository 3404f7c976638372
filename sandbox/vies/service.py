"""The checkVatService WSDL and its one operation, answered from a registry that the national checksums define.

Why checksums: the demo and tests need numbers that are "registered" without a list to maintain, and numbers that
fail their checksum are never registered in a real member state either. Deregistering a well-formed number gives the
``valid false`` answer a closed company gets.
"""

from __future__ import annotations

import re
import threading

from lxml import etree
from stdnum.eu import vat as eu_vat

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.routing import Routes

PREFIX = ""  # served at the root, like https://ec.europa.eu
CREDENTIALS: dict[str, str] = {}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TYPES = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
SERVICE_NS = "urn:ec.europa.eu:taxud:vies:services:checkVat"
WSDL_PATH = "/taxation_customs/vies/checkVatService.wsdl"
SERVICE_PATH = "/taxation_customs/vies/services/checkVatService"
# VIES member-state codes: Greece is EL, Northern Ireland XI.
MEMBER_STATES = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE",
                           "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"})


def wsdl(address: str) -> str:
    """The service description: types, messages, port type, document/literal SOAP 1.1 binding, service."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:impl="{SERVICE_NS}" xmlns:tns1="{TYPES}"
    targetNamespace="{SERVICE_NS}">
  <wsdl:types>
    <xsd:schema attributeFormDefault="qualified" elementFormDefault="qualified" targetNamespace="{TYPES}">
      <xsd:element name="checkVat">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="checkVatResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
          <xsd:element name="requestDate" type="xsd:date"/>
          <xsd:element name="valid" type="xsd:boolean"/>
          <xsd:element maxOccurs="1" minOccurs="0" name="name" nillable="true" type="xsd:string"/>
          <xsd:element maxOccurs="1" minOccurs="0" name="address" nillable="true" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="checkVatRequest"><wsdl:part element="tns1:checkVat" name="parameters"/></wsdl:message>
  <wsdl:message name="checkVatResponse"><wsdl:part element="tns1:checkVatResponse" name="parameters"/></wsdl:message>
  <wsdl:portType name="checkVatPortType">
    <wsdl:operation name="checkVat">
      <wsdl:input message="impl:checkVatRequest" name="checkVatRequest"/>
      <wsdl:output message="impl:checkVatResponse" name="checkVatResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="checkVatBinding" type="impl:checkVatPortType">
    <wsdlsoap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="checkVat">
      <wsdlsoap:operation soapAction=""/>
      <wsdl:input name="checkVatRequest"><wsdlsoap:body use="literal"/></wsdl:input>
      <wsdl:output name="checkVatResponse"><wsdlsoap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="checkVatService">
    <wsdl:port binding="impl:checkVatBinding" name="checkVatPort">
      <wsdlsoap:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def fault(code: str) -> Response:
    """A SOAP 1.1 fault whose faultstring is the VIES error code, as the service answers (HTTP 500)."""
    return Response(500, f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><soap:Fault>'
                         f'<faultcode>soap:Server</faultcode><faultstring>{code}</faultstring>'
                         f'</soap:Fault></soap:Body></soap:Envelope>', content_type="text/xml; charset=utf-8")


def _answer(country: str, number: str, day: str, valid: bool) -> Response:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    answer = etree.SubElement(body, f"{{{TYPES}}}checkVatResponse", nsmap={None: TYPES})
    name, address = (f"TRADER {country}{number}", f"REGISTERED ADDRESS OF {country}{number}") if valid else (
        "---", "---")
    for tag, value in (("countryCode", country), ("vatNumber", number), ("requestDate", f"{day}+01:00"),
                       ("valid", "true" if valid else "false"), ("name", name), ("address", address)):
        etree.SubElement(answer, f"{{{TYPES}}}{tag}").text = value
    return Response(200, etree.tostring(env, encoding="utf-8"), content_type="text/xml; charset=utf-8")


def build(clock: Clock, seed: int = 1) -> SandboxApp:
    del seed  # the registry follows the checksums, whatever the seed
    app = SandboxApp("vies", clock)
    routes = Routes(app)
    deregistered: set[str] = set()
    lock = threading.Lock()

    @routes("GET", re.escape(WSDL_PATH))
    def description(request: Request) -> Response:
        host = request.header("Host") or "127.0.0.1"
        return Response(200, wsdl(f"https://{host}{SERVICE_PATH}"), content_type="text/xml; charset=utf-8")

    @routes("POST", re.escape(SERVICE_PATH))
    def check_vat(request: Request) -> Response:
        armed = request.has_fault("vies_fault")
        if armed:
            return fault(str(armed.body or "SERVICE_UNAVAILABLE"))
        try:
            envelope = etree.fromstring(request.body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return fault("INVALID_INPUT")
        asked = envelope.find(f"{{{SOAP_ENV}}}Body/{{{TYPES}}}checkVat")
        if asked is None:
            return fault("INVALID_INPUT")
        country = (asked.findtext(f"{{{TYPES}}}countryCode") or "").strip()
        number = (asked.findtext(f"{{{TYPES}}}vatNumber") or "").strip().replace(" ", "")
        if country not in MEMBER_STATES or not number.isalnum():
            return fault("INVALID_INPUT")
        prefix = "GR" if country == "EL" else country  # python-stdnum reads Greek numbers with either prefix
        with lock:
            registered = eu_vat.is_valid(prefix + number) and country + number not in deregistered
        return _answer(country, number, request.clock.now().date().isoformat(), registered)

    @routes("POST", r"/__admin/deregistered")
    def deregister(request: Request) -> Response:
        with lock:
            deregistered.add(str(request.json()["vat"]).replace(" ", "").upper())
        return Response(201, {"deregistered": sorted(deregistered)})

    return app
