"""The page's SOAP operations: each reads its arguments from the request element and answers result elements.

Why a table: the service dispatches on the operation's name (checked against ``SOAPAction``), and knows from it
which operations only read (no state is saved after them).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from sandbox.bc_soap.contract import NS
from sandbox.bc_soap.page import SalesInvoicePage, key_identity
from sandbox.bc_soap.soap import NavFault, parse_entity, render, text


def _entity(operation: etree._Element, tag: str = "SalesInvoice") -> dict[str, Any]:
    element = operation.find(f"{{{NS}}}{tag}")
    if element is None:
        raise NavFault("NavWebServiceException", f"Missing element {tag}.")
    return parse_entity(element)


def _op_read(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    invoice = page.state["invoices"].get(text(operation, "No") or "")
    return [render("SalesInvoice", invoice)] if invoice else []


def _op_read_multiple(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    filters = [(text(f, "Field") or "", text(f, "Criteria") or "") for f in operation.findall(f"{{{NS}}}filter")]
    size = int(text(operation, "setSize") or 0)
    rows = page.read_multiple(filters, text(operation, "bookmarkKey"), size)
    if not rows:
        return []
    wrapper = etree.Element(f"{{{NS}}}ReadMultiple_Result")
    wrapper.extend(render("SalesInvoice", row) for row in rows)
    return [wrapper]


def _op_create(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return [render("SalesInvoice", page.create(_entity(operation)))]


def _op_create_multiple(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    listing = operation.find(f"{{{NS}}}SalesInvoice_List")
    records = [] if listing is None else [parse_entity(e) for e in listing.findall(f"{{{NS}}}SalesInvoice")]
    wrapper = etree.Element(f"{{{NS}}}SalesInvoice_List")
    wrapper.extend(render("SalesInvoice", page.create(record)) for record in records)
    return [wrapper]


def _op_update(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return [render("SalesInvoice", page.update(_entity(operation)))]


def _boolean(tag: str, value: bool) -> list[etree._Element]:
    element = etree.Element(f"{{{NS}}}{tag}")
    element.text = "true" if value else "false"
    return [element]


def _op_delete(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    identity = key_identity(text(operation, "Key") or "")
    if identity is None or not identity[0].startswith("Sales Header;"):
        return _boolean("Delete_Result", False)
    invoice = page.current(text(operation, "Key"))
    del page.state["invoices"][invoice["No"]]
    return _boolean("Delete_Result", True)


def _op_delete_line(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _boolean("Delete_SalesLines_Result", page.delete_line(text(operation, "SalesLines_Key") or ""))


def _return_value(value: str) -> list[etree._Element]:
    element = etree.Element(f"{{{NS}}}return_value")
    element.text = value
    return [element]


def _op_post(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _return_value(page.post(text(operation, "Key") or ""))


def _op_find_posted(page: SalesInvoicePage, operation: etree._Element) -> list[etree._Element]:
    return _return_value(page.find_posted(text(operation, "External_Document_No") or ""))


READ_OPERATIONS = frozenset({"Read", "ReadMultiple", "FindPostedInvoice"})
HANDLERS = {
    "Read": _op_read, "ReadMultiple": _op_read_multiple, "Create": _op_create,
    "CreateMultiple": _op_create_multiple, "Update": _op_update, "Delete": _op_delete,
    "Delete_SalesLines": _op_delete_line, "PostInvoice": _op_post, "FindPostedInvoice": _op_find_posted,
}
