"""The partner codeunit web service that posts sales documents over SOAP, published under a configurable name.

Why a codeunit: a standard BC page has no Post operation over SOAP (basic page operations are Create, Read, Update,
Delete and their variants); a partner extension exposes posting as public functions of a codeunit published as a
web service, reached at ``/WS/<company>/Codeunit/<service>`` with namespace
``urn:microsoft-dynamics-schemas/codeunit/<service>`` (case kept) and results ``<Op>_Result`` with ``return_value``.
The sandbox plays such an extension: its service name is whatever the reseller published it as (``build``'s
``post_codeunit``); its two functions are the extension's own, named in ``POSTING``:

- ``PostSalesDocument(documentKey)``: posts the draft whose page ``Key`` is given (invoice or credit memo) and
  returns the posted document's number; a stale ``Key`` faults as the page does.
- ``FindPostedSalesDocument(documentType, externalDocumentNo)``: the posted number of the invoice (``Invoice``) or
  credit memo (``Credit Memo``) with that external document no., or ``""``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.bc_soap.page import DocumentPage, key_identity
from sandbox.bc_soap.soap import NavFault


@dataclass(frozen=True)
class Posting:
    """The extension's function names and the name it is published under by default."""

    service: str = "CspbillPosting"
    post: str = "PostSalesDocument"
    find_posted: str = "FindPostedSalesDocument"


POSTING = Posting()


def namespace(service: str) -> str:
    return f"urn:microsoft-dynamics-schemas/codeunit/{service}"


def _string(name: str) -> str:
    return f'<element minOccurs="1" maxOccurs="1" name="{name}" type="string"/>'


def wsdl(service: str, address: str) -> str:
    """The codeunit's WSDL: one document/literal operation per public function."""
    ns = namespace(service)
    operations = {POSTING.post: ("documentKey",), POSTING.find_posted: ("documentType", "externalDocumentNo")}
    elements = "".join(
        f'<element name="{op}"><complexType><sequence>{"".join(_string(p) for p in params)}</sequence>'
        f'</complexType></element><element name="{op}_Result"><complexType><sequence>{_string("return_value")}'
        f'</sequence></complexType></element>' for op, params in operations.items())
    messages = "".join(f'<message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
                       f'<message name="{op}_Result"><part name="parameters" element="tns:{op}_Result"/></message>'
                       for op in operations)
    port = "".join(f'<operation name="{op}"><input name="{op}" message="tns:{op}"/>'
                   f'<output name="{op}_Result" message="tns:{op}_Result"/></operation>' for op in operations)
    binding = "".join(f'<operation name="{op}"><soap:operation soapAction="{ns}:{op}" style="document"/>'
                      f'<input name="{op}"><soap:body use="literal"/></input>'
                      f'<output name="{op}_Result"><soap:body use="literal"/></output></operation>'
                      for op in operations)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        f' xmlns:tns="{ns}" targetNamespace="{ns}">'
        f'<types><schema xmlns="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified"'
        f' targetNamespace="{ns}">{elements}</schema></types>{messages}'
        f'<portType name="{service}_Port">{port}</portType>'
        f'<binding name="{service}_Binding" type="tns:{service}_Port">'
        f'<soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>{binding}</binding>'
        f'<service name="{service}_Service"><port name="{service}_Port" binding="tns:{service}_Binding">'
        f'<soap:address location="{escape(address)}"/></port></service></definitions>'
    )


def operations(service: str, pages: tuple[DocumentPage, ...]) -> dict[str, object]:
    """The codeunit's functions by name, each ``(operation element) -> return_value text``."""
    ns = namespace(service)

    def arg(operation: etree._Element, name: str) -> str:
        child = operation.find(f"{{{ns}}}{name}")
        return "" if child is None else (child.text or "")

    def page_of_type(document_type: str) -> DocumentPage:
        for page in pages:
            if page.contract.document_type.upper() == document_type.upper():
                return page
        raise NavFault("NavNCLOptionValueException", f"'{document_type}' is not a sales document type.")

    def post(operation: etree._Element) -> str:
        key = arg(operation, "documentKey")
        identity = key_identity(key)
        number = identity[0].split(";", 1)[1] if identity and identity[0].startswith("Sales Header;") else None
        page = next((p for p in pages if number in p.state["documents"]), pages[0])
        return page.post(key)

    def find_posted(operation: etree._Element) -> str:
        return page_of_type(arg(operation, "documentType")).find_posted(arg(operation, "externalDocumentNo"))

    return {POSTING.post: post, POSTING.find_posted: find_posted}
