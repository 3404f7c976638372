"""The human-readable invoice: HTML and CSS (``invoice_page.html``, ``invoice_page.css``) laid out by WeasyPrint
as a PDF/A-3b file.

Why WeasyPrint: the layout is a template a person can read and restyle, and WeasyPrint writes the PDF/A-3b that
Factur-X needs (``pdf_variant``): fonts embedded as subsets, an sRGB output intent and XMP metadata naming the PDF/A
part. The font is DejaVu Sans (Debian's fonts-dejavu-core, found through fontconfig); WeasyPrint itself needs
Debian's Pango (both are in the CI image's apt list). The factur-x library later embeds the CII XML and extends the
XMP with the Factur-X schema. The page shows the same fields and figures as the XML and nothing the XML does not
carry: licences with their period, seats, billed days and unit price, one row per subscription and stretch (a seat
change's charge and credit, which the XML keeps as the ledger's two lines, are one row with their summed amount),
usage grouped by meter category.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from erp_export.documents import Address, InvoiceDocument, InvoiceLine
from erp_export.ubl import plain

if TYPE_CHECKING:
    from weasyprint import CSS

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


@dataclass(frozen=True)
class ReadableLine:
    """One row of the page's specification: a document line, or the lines of one subscription and stretch."""

    description: str
    period_start: date
    period_end: date
    seats: str  # "10", or "9 → 10" for a seat change
    days: str
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    net_amount: Decimal


def _row(line: InvoiceLine) -> ReadableLine:
    return ReadableLine(line.description, line.period_start, line.period_end, plain(line.quantity), line.days or "",
                        line.unit_price, line.vat_category, line.vat_rate, line.net_amount)


def licence_rows(lines: Iterable[InvoiceLine], credit_note: bool) -> list[ReadableLine]:
    """The licence lines as a reader wants them: the charge and credit of a seat change over the same stretch (same
    subscription, period and VAT) become one row with the seats before and after, the billed days, the list price and
    the sum of their amounts; a line alone in its stretch stays as it is. Amounts are only added, never recomputed,
    so the rows add up to the document's lines (and so to the ledger)."""
    groups: dict[tuple[object, ...], list[InvoiceLine]] = {}
    for line in lines:
        key = ((line.item, line.period_start, line.period_end, line.vat_category, line.vat_rate) if line.item
               else (line.key,))
        groups.setdefault(key, []).append(line)
    rows = []
    for members in groups.values():
        first = members[0]
        if len(members) == 1 or first.item is None:
            rows.extend(_row(line) for line in members)
            continue
        charged = [line for line in members if (line.quantity > 0) != credit_note]
        credited = [line for line in members if (line.quantity > 0) == credit_note]
        before, after = (sum((abs(line.quantity) for line in part), Decimal(0)) for part in (credited, charged))
        price = next((line.list_price for line in charged + credited if line.list_price is not None),
                     first.unit_price)
        rows.append(ReadableLine(
            f"{first.item}: seats changed" if charged and credited else first.item, first.period_start,
            first.period_end, f"{plain(before)} → {plain(after)}" if charged and credited else plain(after or before),
            first.days or "", price, first.vat_category, first.vat_rate,
            sum((line.net_amount for line in members), Decimal(0))))
    return rows


def _usage(lines: tuple[InvoiceLine, ...]) -> list[tuple[str, list[ReadableLine], Decimal]]:
    groups: dict[str, list[InvoiceLine]] = {}
    for line in lines:
        if line.group is not None:
            groups.setdefault(line.group, []).append(line)
    return [(group, [_row(line) for line in members], sum((line.net_amount for line in members), Decimal(0)))
            for group, members in sorted(groups.items())]


def invoice_html(doc: InvoiceDocument) -> str:
    """The invoice as an HTML page (what the PDF lays out)."""
    kind = "Credit note" if doc.type_code == "381" else "Invoice"
    categories = {row.category for row in doc.vat_breakdown}
    return _template().render(
        doc=doc, kind=kind, title=f"{doc.seller.name}: {kind} {doc.invoice_number}", lang="en",
        plain=plain, address=_address,
        licences=licence_rows((line for line in doc.lines if line.group is None), doc.type_code == "381"),
        usage=_usage(doc.lines),
        notices=[notice for category, notice in NOTICES.items() if category in categories],
    )


def invoice_page(doc: InvoiceDocument) -> bytes:
    """The human-readable invoice as a PDF/A-3b file."""
    from weasyprint import HTML  # here, not at the top: it takes 0.4 s to load, and only making a PDF needs it

    return HTML(string=invoice_html(doc), base_url=str(HERE)).write_pdf(
        stylesheets=[_stylesheet()], pdf_variant="pdf/a-3b")


@functools.cache
def _stylesheet() -> CSS:
    from weasyprint import CSS

    return CSS(filename=str(HERE / "invoice_page.css"))
