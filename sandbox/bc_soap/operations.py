"""A page's SOAP operations: each reads its arguments from the request element and answers result elements.

Why a table: the service dispatches on the operation's name (checked against ``SOAPAction``), and knows from it
which operations only read (no state is saved after them). The standard page operations are the same on every page
(BC docs, webservices/basic-page-operations); posting is not one of them (``sandbox.bc_soap.codeunit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from sandbox.bc_soap.page import DocumentPage, key_identity
from sandbox.bc_soap.soap import NavFault, parse_entity, render, text

Handler = Callable[[DocumentPage, etree._Element], list[etree._Element]]


def _entity(page: DocumentPage, operation: etree._Element) -> dict[str, Any]:
    tag = page.contract.service
    element = operation.find(f"{{{page.contract.ns}}}{tag}")
    if element is None:
        raise NavFault("NavWebServiceException", f"Missing element {tag}.")
    return parse_entity(page.contract, element)


def _render(page: DocumentPage, document: dict[str, Any]) -> etree._Element:
    return render(page.contract, page.contract.service, document)


def _op_read(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    document = page.state["documents"].get(text(page.contract, operation, "No") or "")
    return [_render(page, document)] if document else []


def _op_read_multiple(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    contract = page.contract
    filters = [(text(contract, f, "Field") or "", text(contract, f, "Criteria") or "")
               for f in operation.findall(f"{{{contract.ns}}}filter")]
    size = int(text(contract, operation, "setSize") or 0)
    rows = page.read_multiple(filters, text(contract, operation, "bookmarkKey"), size)
    if not rows:
        return []
    wrapper = etree.Element(f"{{{contract.ns}}}ReadMultiple_Result")
    wrapper.extend(_render(page, row) for row in rows)
    return [wrapper]


def _op_create(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    return [_render(page, page.create(_entity(page, operation)))]


def _op_create_multiple(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    wrapper = etree.Element(f"{{{page.contract.ns}}}{page.contract.service}_List")
    wrapper.extend(_render(page, page.create(record)) for record in _entities(page, operation))
    return [wrapper]


def _op_update(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    return [_render(page, page.update(_entity(page, operation)))]


def _entities(page: DocumentPage, operation: etree._Element) -> list[dict[str, Any]]:
    contract = page.contract
    listing = operation.find(f"{{{contract.ns}}}{contract.service}_List")
    return [] if listing is None else [parse_entity(contract, e)
                                       for e in listing.findall(f"{{{contract.ns}}}{contract.service}")]


def _op_update_multiple(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    """All or nothing: a fault on any record rolls back the call (the service restores the page's state)."""
    wrapper = etree.Element(f"{{{page.contract.ns}}}{page.contract.service}_List")
    wrapper.extend(_render(page, page.update(record)) for record in _entities(page, operation))
    return [wrapper]


def _op_is_updated(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    return _boolean(page, "IsUpdated_Result", page.is_updated(text(page.contract, operation, "Key") or ""))


def _op_rec_id(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    return _single(page, "GetRecIdFromKey_Result", page.rec_id(text(page.contract, operation, "Key") or ""))


def _op_read_by_rec_id(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    document = page.by_rec_id(text(page.contract, operation, "recId") or "")
    return [_render(page, document)] if document else []


def _single(page: DocumentPage, tag: str, value: str) -> list[etree._Element]:
    element = etree.Element(f"{{{page.contract.ns}}}{tag}")
    element.text = value
    return [element]


def _boolean(page: DocumentPage, tag: str, value: bool) -> list[etree._Element]:
    return _single(page, tag, "true" if value else "false")


def _op_delete(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    given = text(page.contract, operation, "Key") or ""
    identity = key_identity(given)
    if identity is None or not identity[0].startswith("Sales Header;"):
        return _boolean(page, "Delete_Result", False)
    document = page.current(given)
    del page.state["documents"][document["No"]]
    return _boolean(page, "Delete_Result", True)


def _op_delete_line(page: DocumentPage, operation: etree._Element) -> list[etree._Element]:
    return _boolean(page, "Delete_SalesLines_Result",
                    page.delete_line(text(page.contract, operation, "SalesLines_Key") or ""))


_STANDARD: dict[str, Handler] = {
    "Read": _op_read, "ReadMultiple": _op_read_multiple, "Create": _op_create,
    "CreateMultiple": _op_create_multiple, "Update": _op_update, "UpdateMultiple": _op_update_multiple,
    "Delete": _op_delete, "Delete_SalesLines": _op_delete_line, "IsUpdated": _op_is_updated,
    "GetRecIdFromKey": _op_rec_id, "ReadByRecId": _op_read_by_rec_id,
}


def handlers(page: DocumentPage) -> dict[str, Handler]:
    """Every operation ``page`` answers, by name."""
    return dict(_STANDARD)


def read_operations() -> frozenset[str]:
    """The page operations that change nothing (no state is saved after them)."""
    return frozenset({"Read", "ReadMultiple", "IsUpdated", "GetRecIdFromKey", "ReadByRecId"})
