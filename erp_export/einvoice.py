"""The files a recipient gets for an ``InvoiceDocument``, one function per format, and where they are written.

Why one doorway: the CLI, the desk's downloads and the delivery service all ask for "the UBL (or CII, Factur-X,
XRechnung, PDF) of this invoice" and must get the same bytes. The writers live in their own modules: UBL 2.1 Peppol
BIS 3 and XRechnung in ``erp_export.ubl``, CII (Factur-X EN 16931) in ``erp_export.cii``, the visible page in
``erp_export.invoice_page``. A Factur-X PDF is that page, made PDF/A-3b there, with the CII XML embedded by the
factur-x library, which checks the XML against the Factur-X XSD and writes the Factur-X XMP extension schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import facturx

from erp_export.cii import cii_xml
from erp_export.documents import InvoiceDocument
from erp_export.ubl import XRECHNUNG_CUSTOMIZATION, ubl_xml

Format = Literal["ubl", "cii", "facturx", "xrechnung", "pdf"]


def xrechnung_xml(doc: InvoiceDocument) -> bytes:
    """XRechnung 3.0 in its UBL syntax: the Peppol UBL with the XRechnung specification identifier (BT-24); the
    document's buyer reference is the customer's Leitweg-ID (BT-10) when it has one."""
    return ubl_xml(doc, XRECHNUNG_CUSTOMIZATION)


def visible_pdf(doc: InvoiceDocument) -> bytes:
    """The human-readable invoice as a PDF/A-3b file without attachments."""
    from erp_export.invoice_page import invoice_page  # WeasyPrint (and Pango) load only when a PDF is made

    return invoice_page(doc)


def facturx_pdf(doc: InvoiceDocument) -> bytes:
    """A Factur-X (EN 16931) PDF/A-3: the visible invoice with the CII XML embedded as ``factur-x.xml``."""
    kind = "Credit note" if doc.type_code == "381" else "Invoice"
    metadata = {"author": doc.seller.name, "keywords": f"Factur-X, {kind}",
                "title": f"{doc.seller.name}: {kind} {doc.invoice_number}",
                "subject": f"Factur-X {kind.lower()} {doc.invoice_number} dated {doc.issue_date.isoformat()}"}
    return facturx.generate_from_binary(visible_pdf(doc), cii_xml(doc), flavor="factur-x", level="en16931",
                                        check_xsd=True, pdf_metadata=metadata, lang="en-GB")


WRITERS: dict[Format, tuple[str, Callable[[InvoiceDocument], bytes]]] = {
    "ubl": (".ubl.xml", ubl_xml),
    "cii": (".cii.xml", cii_xml),
    "facturx": (".pdf", facturx_pdf),
    "xrechnung": (".xrechnung.xml", xrechnung_xml),
    "pdf": (".plain.pdf", visible_pdf),
}
MEDIA_TYPES: dict[Format, str] = {"ubl": "application/xml", "cii": "application/xml", "xrechnung": "application/xml",
                                  "facturx": "application/pdf", "pdf": "application/pdf"}


def file_name(doc: InvoiceDocument, fmt: Format) -> str:
    """The file's name: the invoice number and a suffix per format (``NL-2026-000001.ubl.xml``)."""
    return doc.invoice_number + WRITERS[fmt][0]


def render(doc: InvoiceDocument, fmt: Format) -> bytes:
    """The bytes of ``doc`` in ``fmt``."""
    return WRITERS[fmt][1](doc)


def write_files(doc: InvoiceDocument, directory: Path, formats: Iterable[Format] = ("ubl", "facturx")) -> list[Path]:
    """Write the chosen e-invoice files for ``doc`` into ``directory``; names carry the invoice number."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        path = directory / file_name(doc, fmt)
        path.write_bytes(render(doc, fmt))
        written.append(path)
    return written
