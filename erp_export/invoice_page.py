"""The human-readable invoice: HTML and CSS (``invoice_page.html``, ``invoice_page.css``) laid out by WeasyPrint
as a PDF/A-3b file.

Why WeasyPrint: the layout is a template a person can read and restyle, and WeasyPrint writes the PDF/A-3b that
Factur-X needs (``pdf_variant``): fonts embedded as subsets, an sRGB output intent and XMP metadata naming the PDF/A
part. The font is DejaVu Sans (Debian's fonts-dejavu-core, found through fontconfig); WeasyPrint itself needs
Debian's Pango (both are in the CI image's apt list). The factur-x library later embeds the CII XML and extends the
XMP with the Factur-X schema. The page shows the same fields and figures as the XML and nothing the XML does not
carry: licences line by line with their period, seats, billed days and unit price, usage grouped by meter category.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

import jinja2
from weasyprint import CSS, HTML

from erp_export.documents import Address, InvoiceDocument, InvoiceLine
from erp_export.ubl import plain

HERE = Path(__file__).resolve().parent
NOTICES = {"AE": "Reverse charge: VAT is due by the recipient (Article 196 of Council Directive 2006/112/EC).",
           "O": "Not subject to VAT in the EU: the place of supply is outside the EU."}


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template("invoice_page.html")


def _address(address: Address) -> str:
    town = f"{address.postal_code or ''} {address.city or ''}".strip()
    return ", ".join(part for part in (address.street, town, address.country) if part)


def _usage(lines: tuple[InvoiceLine, ...]) -> list[tuple[str, list[InvoiceLine], Decimal]]:
    groups: dict[str, list[InvoiceLine]] = {}
    for line in lines:
        if line.group is not None:
            groups.setdefault(line.group, []).append(line)
    return [(group, members, sum((line.net_amount for line in members), Decimal(0)))
            for group, members in sorted(groups.items())]


def invoice_html(doc: InvoiceDocument) -> str:
    """The invoice as an HTML page (what the PDF lays out)."""
    kind = "Credit note" if doc.type_code == "381" else "Invoice"
    categories = {row.category for row in doc.vat_breakdown}
    return _template().render(
        doc=doc, kind=kind, title=f"{doc.seller.name}: {kind} {doc.invoice_number}", lang="en",
        plain=plain, address=_address,
        licences=[line for line in doc.lines if line.group is None], usage=_usage(doc.lines),
        notices=[notice for category, notice in NOTICES.items() if category in categories],
    )


def invoice_page(doc: InvoiceDocument) -> bytes:
    """The human-readable invoice as a PDF/A-3b file."""
    return HTML(string=invoice_html(doc), base_url=str(HERE)).write_pdf(
        stylesheets=[_stylesheet()], pdf_variant="pdf/a-3b")


@functools.cache
def _stylesheet() -> CSS:
    return CSS(filename=str(HERE / "invoice_page.css"))
