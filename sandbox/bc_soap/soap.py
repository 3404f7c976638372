"""SOAP 1.1 as NAV speaks it: reading page records from request envelopes, writing results and faults.

Why apart from the page: the page's triggers work on plain records; this module is the only one that knows the
envelope, the ``<Op>_Result`` wrapper and NAV's fault shape (HTTP 500, ``a:`` fault codes). Every function takes the
page's contract, so the Sales Invoice and Sales Credit Memo pages read and write their own namespace and fields.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.bc_soap.contract import LINE_FIELDS, SOAP_ENV, PageContract
from sandbox.core import Response

_DECIMAL_FIELDS = {name for name, kind in LINE_FIELDS if kind == "decimal"}
_COMPUTED_LINE_FIELDS = {"Line_Amount", "Line_No", "Total_Amount_Excl_VAT", "Total_VAT_Amount",
                         "Total_Amount_Incl_VAT"}


class NavFault(Exception):
    """A page trigger error: becomes HTTP 500 with a SOAP fault, as NAV sends it."""

    def __init__(self, exception: str, message: str) -> None:
        super().__init__(message)
        self.exception = exception
        self.message = message


def nav_fault(exception: str, message: str) -> Response:
    """HTTP 500 with the SOAP fault NAV sends for a trigger error."""
    body = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="urn:microsoft-dynamics-schemas/error">a:Microsoft.Dynamics.Nav.Types.Exceptions.'
        f'{exception}</faultcode><faultstring xml:lang="en-US">{escape(message)}</faultstring>'
        f'<detail><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">{escape(message)}</string>'
        f'</detail></s:Fault></s:Body></s:Envelope>'
    )
    return Response(500, body, content_type="text/xml; charset=utf-8")


def result_envelope(ns: str, op: str, payload: list[etree._Element]) -> Response:
    """HTTP 200 with ``payload`` inside the ``<op>_Result`` wrapper (namespace ``ns``) of a SOAP envelope."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"Soap": SOAP_ENV})
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    result = etree.SubElement(body, f"{{{ns}}}{op}_Result", nsmap={None: ns})
    result.extend(payload)
    return Response(200, etree.tostring(env, xml_declaration=False, encoding="utf-8"),
                    content_type="text/xml; charset=utf-8")


def text(page: PageContract, parent: etree._Element, name: str) -> str | None:
    child = parent.find(f"{{{page.ns}}}{name}")
    return None if child is None else (child.text or "")


def parse_entity(page: PageContract, element: etree._Element) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, _ in (("Key", "string"), *page.header_fields):
        value = text(page, element, name)
        if value is not None:
            record[name] = value
    part = element.find(f"{{{page.ns}}}SalesLines")
    if part is not None:
        record["SalesLines"] = [parse_line(page, line) for line in part.findall(f"{{{page.ns}}}{page.line_element}")]
    return record


def parse_line(page: PageContract, element: etree._Element) -> dict[str, Any]:
    line: dict[str, Any] = {}
    for name, _ in (("Key", "string"), *page.line_fields):
        value = text(page, element, name)
        if value is None or name in _COMPUTED_LINE_FIELDS:
            continue
        if name in _DECIMAL_FIELDS:
            try:
                line[name] = Decimal(value)
            except InvalidOperation as exc:
                raise NavFault("NavNCLTypeConversionException", f"The value '{value}' is not a decimal.") from exc
        else:
            line[name] = value
    return line


def render(page: PageContract, tag: str, document: dict[str, Any]) -> etree._Element:
    ns = page.ns
    element = etree.Element(f"{{{ns}}}{tag}")
    for name, _ in (("Key", "string"), *page.header_fields):
        if document.get(name) not in (None, ""):
            etree.SubElement(element, f"{{{ns}}}{name}").text = str(document[name])
    if document["lines"]:
        part = etree.SubElement(element, f"{{{ns}}}SalesLines")
        for line in document["lines"]:
            node = etree.SubElement(part, f"{{{ns}}}{page.line_element}")
            for name, _ in (("Key", "string"), *page.line_fields):
                if line.get(name) not in (None, ""):
                    etree.SubElement(node, f"{{{ns}}}{name}").text = str(line[name])
    return element
