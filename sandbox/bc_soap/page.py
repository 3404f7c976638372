"""A sales document page's state and triggers: drafts by ``No``, posted documents, the number series.

Why these rules: the exporter must cope with what NAV does: versioned ``Key`` values that change on every write
(a line change bumps the header), stale-``Key`` faults, ``ReadMultiple`` filters with bookmark paging, and a posted
document leaving the page. The Sales Invoice and Sales Credit Memo pages are two instances with their own contract,
store and number series; a credit memo's ``Applies-to Doc. No.`` must name a posted invoice of its customer, as BC
validates it against the customer's ledger entries.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import threading
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sandbox.bc_soap.contract import PageContract
from sandbox.bc_soap.soap import NavFault
from sandbox.business_central import (
    DEFAULT_VAT_BUSINESS_POSTING_GROUP,
    GL_ACCOUNTS,
    VAT_BUSINESS_POSTING_GROUPS,
    VAT_POSTING_SETUP,
    customers,
)
from sandbox.core import Clock
from sandbox.state_file import StateFile

_FILTER_FIELDS = ("No", "Sell_to_Customer_No", "External_Document_No")


def key(table: str, identity: str, version: int) -> str:
    token = base64.b64encode(f"{table};{identity}".encode()).decode()
    return f"{len(token)};{token}{version};"


def key_identity(key: str) -> tuple[str, int] | None:
    try:
        length, rest = key.split(";", 1)
        token, version = rest[: int(length)], rest[int(length):].rstrip(";")
        return base64.b64decode(token).decode(), int(version)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _criteria_match(criteria: str, value: str | None) -> bool:
    if value is None:
        return criteria in ("", "''")
    pattern = criteria.strip("'")
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(value.upper(), pattern.upper())
    return value.upper() == pattern.upper()


class DocumentPage:
    """One page's state and triggers: drafts by ``No`` (``documents``), posted documents, the number series.
    ``posted_invoices`` gives the posted invoices a credit memo may be applied to (none for the invoice page)."""

    def __init__(self, contract: PageContract, clock: Clock, seed: int, state_dir: Path | None,
                 posted_invoices: Callable[[], Mapping[str, dict[str, Any]]] | None = None) -> None:
        self.contract = contract
        self.clock = clock
        self.customers = customers(seed)
        self.posted_invoices = posted_invoices
        self.lock = threading.RLock()
        self.store = StateFile(state_dir / contract.state_file) if state_dir else None
        saved = self.store.load() if self.store else None
        self.state: dict[str, Any] = saved or {"next_no": 100001, "next_posted": 100001, "documents": {},
                                               "posted": {}}

    def save(self) -> None:
        if self.store:
            self.store.save(self.state)

    # -- triggers ------------------------------------------------------------------------------------------

    def _validate_header(self, record: dict[str, Any]) -> None:
        customer = record.get("Sell_to_Customer_No")
        if customer and customer not in self.customers:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The Customer does not exist. Identification fields and values: No.='{customer}'")
        group = record.get("VAT_Bus_Posting_Group")
        if group and group not in VAT_BUSINESS_POSTING_GROUPS:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The VAT Business Posting Group does not exist. Identification fields and values: "
                           f"Code='{group}'")
        external = record.get("External_Document_No") or ""
        if len(external) > 35:
            raise NavFault("NavNCLStringLengthExceededException",
                           f"The length of the string is {len(external)}, but it must be less than or equal to "
                           f"35 characters. Value: {external}")
        self._validate_applies_to(record)

    def _validate_applies_to(self, record: dict[str, Any]) -> None:
        """``Applies-to Doc. No.``: a posted invoice of this customer (only invoices are applied to here)."""
        number = record.get("Applies_to_Doc_No")
        if not number:
            return
        kind = record.get("Applies_to_Doc_Type") or "_blank_"
        posted = (self.posted_invoices() if self.posted_invoices else {}).get(number)
        if kind != "Invoice" or posted is None or posted.get("Sell_to_Customer_No") != record.get(
                "Sell_to_Customer_No"):
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The Cust. Ledger Entry does not exist. Identification fields and values: "
                           f"Document Type='{kind}',Document No.='{number}',Customer No.="
                           f"'{record.get('Sell_to_Customer_No') or ''}'")

    def _apply_line(self, invoice: dict[str, Any], line: dict[str, Any], fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name != "Key":
                line[name] = value
        if line.get("Type") == "G_L_Account" and line.get("No") not in GL_ACCOUNTS:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The G/L Account does not exist. Identification fields and values: No.='{line.get('No')}'")
        group = line.get("VAT_Prod_Posting_Group") or "STANDARD"
        if group not in VAT_POSTING_SETUP:
            business = invoice.get("VAT_Bus_Posting_Group") or DEFAULT_VAT_BUSINESS_POSTING_GROUP
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The VAT Posting Setup does not exist. Identification fields and values: "
                           f"VAT Bus. Posting Group='{business}',VAT Prod. Posting Group='{group}'")
        line["VAT_Prod_Posting_Group"] = group
        quantity = line.get("Quantity") or Decimal(0)
        price = line.get("Unit_Price") or Decimal(0)
        line["Line_Amount"] = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def _new_line(self, invoice: dict[str, Any], fields: dict[str, Any]) -> None:
        line_no = max((line["Line_No"] for line in invoice["lines"]), default=0) + 10000
        line: dict[str, Any] = {"Line_No": line_no, "version": 1}
        self._apply_line(invoice, line, fields)
        invoice["lines"].append(line)

    def _touch(self, invoice: dict[str, Any]) -> None:
        """A write: bump versions, recompute the document totals every line shows (VAT per VAT group)."""
        invoice["version"] += 1
        invoice["Key"] = key("Sales Header", invoice["No"], invoice["version"])
        taxable: dict[str, Decimal] = {}
        for line in invoice["lines"]:
            line["Key"] = key("Sales Line", f"{invoice['No']};{line['Line_No']}", line["version"])
            taxable[line["VAT_Prod_Posting_Group"]] = taxable.get(line["VAT_Prod_Posting_Group"], Decimal(0)) \
                + line["Line_Amount"]
        net = sum(taxable.values(), Decimal(0))
        vat = sum(((amount * VAT_POSTING_SETUP[group] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for group, amount in taxable.items()), Decimal(0))
        for line in invoice["lines"]:
            line.update(Total_Amount_Excl_VAT=net, Total_VAT_Amount=vat, Total_Amount_Incl_VAT=net + vat)

    def create(self, record: dict[str, Any]) -> dict[str, Any]:
        self._validate_header(record)
        number = record.get("No")
        if number and number in self.state["documents"]:
            raise NavFault("NavCSideDuplicateKeyException",
                           f"The Sales Header already exists. Identification fields and values: "
                           f"Document Type='{self.contract.document_type}',No.='{number}'")
        if not number:
            number = f"{self.contract.series}{self.state['next_no']:06d}"
            self.state["next_no"] += 1
        today = self.clock.now().date().isoformat()
        invoice: dict[str, Any] = {name: record.get(name) for name, _ in self.contract.header_fields}
        invoice.update(No=number, Status="Open", version=0, lines=[],
                       Document_Date=record.get("Document_Date") or today,
                       Posting_Date=record.get("Posting_Date") or today)
        if invoice.get("Sell_to_Customer_No"):
            invoice["Sell_to_Customer_Name"] = self.customers[invoice["Sell_to_Customer_No"]]
        for line in record.get("SalesLines", []):
            self._new_line(invoice, line)
        self._touch(invoice)
        self.state["documents"][number] = invoice
        return invoice

    def current(self, key: str | None) -> dict[str, Any]:
        identity = key_identity(key or "")
        if identity is None or not identity[0].startswith("Sales Header;"):
            raise NavFault("NavNCLInvalidKeyException", f"The key '{key}' is not valid for this page.")
        number = identity[0].split(";", 1)[1]
        invoice = self.state["documents"].get(number)
        if invoice is None:
            raise NavFault("NavCSideRecordNotFoundException",
                           f"The Sales Header does not exist. Identification fields and values: "
                           f"Document Type='{self.contract.document_type}',No.='{number}'")
        if invoice["Key"] != key:
            raise NavFault("NavNCLDialogException",
                           f"Other user has modified Sales Header No.={number}. Please refresh the page and "
                           f"try again.")
        return invoice

    def update(self, record: dict[str, Any]) -> dict[str, Any]:
        invoice = self.current(record.get("Key"))
        self._validate_header({**invoice, **record})
        for name, _ in self.contract.header_fields:
            if name in record and name not in ("No", "Status"):
                invoice[name] = record[name]
        for fields in record.get("SalesLines", []):
            if not fields.get("Key"):
                self._new_line(invoice, fields)
                continue
            line = next((ln for ln in invoice["lines"] if ln["Key"] == fields["Key"]), None)
            if line is None:
                raise NavFault("NavNCLDialogException",
                               f"Other user has modified Sales Line Document No.={invoice['No']}. Please refresh "
                               f"the page and try again.")
            line["version"] += 1
            self._apply_line(invoice, line, fields)
        self._touch(invoice)
        return invoice

    def delete_line(self, key: str) -> bool:
        identity = key_identity(key)
        if identity is None or not identity[0].startswith("Sales Line;"):
            return False
        number, line_no = identity[0].split(";", 1)[1].split(";")
        invoice = self.state["documents"].get(number)
        if invoice is None:
            return False
        kept = [line for line in invoice["lines"] if line["Key"] != key]
        if len(kept) == len(invoice["lines"]):
            raise NavFault("NavNCLDialogException", f"Other user has modified Sales Line Line No.={line_no}.")
        invoice["lines"] = kept
        self._touch(invoice)
        return True

    def post(self, key: str) -> str:
        invoice = self.current(key)
        if not invoice["lines"]:
            raise NavFault("NavNCLDialogException", "There is nothing to post.")
        posted_no = f"{self.contract.posted_series}{self.state['next_posted']:06d}"
        self.state["next_posted"] += 1
        del self.state["documents"][invoice["No"]]
        self.state["posted"][posted_no] = {**invoice, "Pre_Assigned_No": invoice["No"], "No": posted_no,
                                           "Status": "Posted"}
        return posted_no

    def is_updated(self, key: str) -> bool:
        """``IsUpdated``: whether the record changed (or went) since ``key`` was read."""
        identity = key_identity(key)
        if identity is None or not identity[0].startswith("Sales Header;"):
            raise NavFault("NavNCLInvalidKeyException", f"The key '{key}' is not valid for this page.")
        document = self.state["documents"].get(identity[0].split(";", 1)[1])
        return document is None or document["Key"] != key

    def rec_id(self, key: str) -> str:
        """``GetRecIdFromKey``: the formatted record id (``Sales Header: Invoice,SI100001``) a key names."""
        identity = key_identity(key)
        if identity is None or not identity[0].startswith("Sales Header;"):
            raise NavFault("NavNCLInvalidKeyException", f"The key '{key}' is not valid for this page.")
        return f"Sales Header: {self.contract.document_type},{identity[0].split(';', 1)[1]}"

    def by_rec_id(self, rec_id: str) -> dict[str, Any] | None:
        """``ReadByRecId``: the draft a formatted record id names; ``None`` (no fault) when there is none."""
        table, _, fields = rec_id.partition(": ")
        kind, _, number = fields.rpartition(",")
        if table.upper() != "SALES HEADER" or kind.upper() != self.contract.document_type.upper():
            return None
        return next((doc for no, doc in self.state["documents"].items() if no.upper() == number.upper()), None)

    def find_posted(self, external: str) -> str:
        return next((no for no, inv in sorted(self.state["posted"].items())
                     if (inv.get("External_Document_No") or "").upper() == external.upper()), "")

    def read_multiple(self, filters: list[tuple[str, str]], bookmark: str | None, size: int) -> list[dict]:
        for field_name, _ in filters:
            if field_name not in _FILTER_FIELDS:
                raise NavFault("NavNCLDialogException", f"The field {field_name} cannot be filtered in the sandbox.")
        rows = [inv for _, inv in sorted(self.state["documents"].items())
                if all(_criteria_match(criteria, inv.get(name)) for name, criteria in filters)]
        if size < 0:
            rows.reverse()
        if bookmark:
            identity = key_identity(bookmark)
            number = identity[0].split(";", 1)[1] if identity else None
            position = next((i for i, inv in enumerate(rows) if inv["No"] == number), None)
            rows = rows[position + 1:] if position is not None else []
        return rows[: abs(size)] if size else rows
