"""The BC sales document pages the SOAP exporter writes to, and how our document maps onto their fields.

Why a module of its own: an invoice (UNCL 1001 type 380) goes to page 43 "Sales Invoice", a credit note (381) to
page 44 "Sales Credit Memo", each published as its own page web service with its own WSDL, namespace, binding, lines
element. Both pages share the Sales Header and Sales Line fields, so one mapping serves both;
the credit memo page adds ``Applies_to_Doc_Type``/``Applies_to_Doc_No``, which apply the credit memo to the posted
invoice it corrects. Amounts go as the document states them: a credit note's are positive, the page says "credit".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import zeep.helpers

from erp_export.base import ErpDocumentRef, vat_key
from erp_export.documents import DocumentType, InvoiceDocument, InvoiceLine

APPLIES_TO_INVOICE = "Invoice"  # option of "Applies-to Doc. Type" (Enum "Gen. Journal Document Type")

# The adapter hint (``InvoiceDocument.extra``) naming the document's VAT Bus. Posting Group, set from
# ``erp.vat_business_posting_groups``
VAT_BUSINESS_GROUP = "bc_vat_business_posting_group"


@dataclass(frozen=True)
class PageFields:
    """Names of the page's fields; a partner page may rename them (erp.md §1.1). ``applies_to_*`` are ``None`` on a
    page without them (the invoice page)."""

    customer: str = "Sell_to_Customer_No"
    external_ref: str = "External_Document_No"
    document_date: str = "Document_Date"
    posting_date: str = "Posting_Date"
    due_date: str = "Due_Date"
    currency: str = "Currency_Code"
    # Sales Header "VAT Bus. Posting Group": BC copies the customer's; written only for a document that names one
    vat_business_group: str = "VAT_Bus_Posting_Group"
    lines_part: str = "SalesLines"
    line_element: str = "Sales_Invoice_Line"
    line_type: str = "Type"
    line_no: str = "No"
    line_description: str = "Description"
    line_key: str = "Description_2"  # carries our deterministic line key
    quantity: str = "Quantity"
    unit_price: str = "Unit_Price"
    vat_group: str = "VAT_Prod_Posting_Group"
    total_net: str = "Total_Amount_Excl_VAT"
    total_vat: str = "Total_VAT_Amount"
    total_gross: str = "Total_Amount_Incl_VAT"
    applies_to_type: str | None = None
    applies_to_no: str | None = None

    def required(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(header fields, line fields) the exporter writes or reads, to check against the page's WSDL types."""
        header = (self.customer, self.external_ref, self.posting_date, self.lines_part)
        applies = tuple(name for name in (self.applies_to_type, self.applies_to_no) if name)
        return header + applies, (self.line_type, self.line_no, self.quantity, self.unit_price, self.line_key)


INVOICE_FIELDS = PageFields()
# page 44 "Sales Credit Memo"; its lines part holds page 96 "Sales Cr. Memo Subform" records (type name inferred
# from the invoice and order pages' "<Document>_Line" pattern)
CREDIT_MEMO_FIELDS = PageFields(line_element="Sales_Cr_Memo_Line", applies_to_type="Applies_to_Doc_Type",
                                applies_to_no="Applies_to_Doc_No")


def sibling_url(page_url: str, other: str) -> str:
    """The URL of page service ``other`` published in the same company as the page at ``page_url``
    (``…/WS/<company>/Page/<service>``: the last segment replaced)."""
    parts = urlsplit(page_url)
    head = parts.path.rstrip("/").rpartition("/")[0]
    if not head.lower().endswith("/page"):
        raise ValueError(f"{page_url} is not a page service URL (…/WS/<company>/Page/<service>): configure the "
                         f"{other} page URL explicitly")
    return urlunsplit(parts._replace(path=f"{head}/{quote(other)}"))


@dataclass(frozen=True)
class SoapPage:
    """One published page as the exporter calls and fills it: where it is, its names, and the mapping of our
    documents onto its fields."""

    type_code: DocumentType
    label: str  # "sales invoice", "sales credit memo": for messages
    service: str
    url: str
    fields: PageFields
    wsdl: str | None = None  # default: the page URL
    binding: str | None = None  # default {urn:microsoft-dynamics-schemas/page/<service lower>}<service>_Binding
    line_type: str = "G_L_Account"
    vat_groups: Mapping[str, str] = field(default_factory=dict)
    local_currency: str | None = None

    @property
    def namespace(self) -> str:
        return f"urn:microsoft-dynamics-schemas/page/{self.service.lower()}"

    @property
    def binding_qname(self) -> str:
        return self.binding or f"{{{self.namespace}}}{self.service}_Binding"

    def header(self, doc: InvoiceDocument, applies_to: str | None = None) -> dict[str, Any]:
        """The header fields of ``doc``; ``applies_to`` is the posted invoice a credit memo applies to."""
        f = self.fields
        header: dict[str, Any] = {
            f.customer: doc.buyer.erp_customer_number,
            f.external_ref: doc.external_ref,
            f.document_date: doc.issue_date,
            f.posting_date: doc.issue_date,
            f.due_date: doc.due_date,
        }
        if doc.currency != self.local_currency:
            header[f.currency] = doc.currency
        if doc.extra.get(VAT_BUSINESS_GROUP):
            header[f.vat_business_group] = doc.extra[VAT_BUSINESS_GROUP]
        if applies_to and f.applies_to_type and f.applies_to_no:
            header[f.applies_to_type] = APPLIES_TO_INVOICE
            header[f.applies_to_no] = applies_to
        return header

    def line(self, line: InvoiceLine, key: str | None = None) -> dict[str, Any]:
        f = self.fields
        values: dict[str, Any] = {
            f.line_type: self.line_type,
            f.line_no: line.account,
            f.line_description: line.description[:100],
            f.line_key: line.ref(),
            f.quantity: line.quantity,
            f.unit_price: line.unit_price,
            f.vat_group: self.vat_groups.get(vat_key(line.vat_category, line.vat_rate)),
        }
        if key:
            values["Key"] = key
        return values

    def lines(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        return {self.fields.line_element: lines}

    def entity(self, doc: InvoiceDocument, applies_to: str | None = None) -> dict[str, Any]:
        """Header and lines of ``doc``: a one-shot ``Create``."""
        return {**self.header(doc, applies_to),
                self.fields.lines_part: self.lines([self.line(line) for line in doc.lines])}

    def entity_lines(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        part = data.get(self.fields.lines_part) or {}
        return list(part.get(self.fields.line_element) or [])

    def ref(self, entity: Any) -> ErpDocumentRef:
        """Our view of a draft on this page (totals as BC repeats them on every line)."""
        f = self.fields
        data = zeep.helpers.serialize_object(entity, dict)
        lines = self.entity_lines(data)
        first = lines[0] if lines else {}
        return ErpDocumentRef(
            erp_id=data["No"], external_ref=data.get(f.external_ref) or "", number=data["No"], status="draft",
            version=data["Key"], line_count=len(lines), total_net=dec(first.get(f.total_net)),
            total_vat=dec(first.get(f.total_vat)), total_gross=dec(first.get(f.total_gross)),
            type_code=self.type_code,
        )

    def same_line(self, existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
        f = self.fields
        compared = [f.line_no, f.line_description, f.quantity, f.unit_price]
        if wanted.get(f.vat_group):  # without a configured group BC picks its default: nothing to compare
            compared.append(f.vat_group)
        return all(
            (dec(existing.get(name)) == dec(wanted.get(name))) if name in (f.quantity, f.unit_price)
            else (existing.get(name) or None) == (wanted.get(name) or None)
            for name in compared
        )


def dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))
