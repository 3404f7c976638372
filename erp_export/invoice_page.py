"""The visible page of a Factur-X invoice, laid out with reportlab in Bitstream Vera.

Why Vera: it is a TrueType font reportlab ships and embeds (as a subset), and PDF/A-3, which Factur-X is, requires
every font to be embedded. The legally relevant part of the file is the embedded XML (``erp_export.einvoice``), so
the page shows the same fields and figures and nothing the XML does not carry. A module of its own so that reportlab
is loaded only when a PDF is made, not by every command that imports the exporters.
"""

from __future__ import annotations

import functools
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from erp_export.documents import InvoiceDocument
from erp_export.einvoice import plain

FONT, BOLD_FONT = "Vera", "VeraBd"  # TrueType files shipped with reportlab, embedded as subsets


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, after registering the embedded fonts with reportlab (once per process)."""
    for name in (FONT, BOLD_FONT):
        pdfmetrics.registerFont(TTFont(name, f"{name}.ttf"))
    body = ParagraphStyle("body", fontName=FONT, fontSize=8, leading=11)
    return {"body": body, "title": ParagraphStyle("title", body, fontName=BOLD_FONT, fontSize=14, leading=20),
            "number": ParagraphStyle("number", body, alignment=TA_RIGHT)}


def _text(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text), _styles()[style])


def _lines_table(doc: InvoiceDocument) -> Table:
    """Description, quantity, unit price, VAT category and rate, net amount: one row per line."""
    header = [_text("Description")] + [_text(name, "number") for name in ("Qty", "Price", "VAT", "Net")]
    rows = [[_text(line.description), _text(plain(line.quantity), "number"),
             _text(plain(line.unit_price), "number"), _text(f"{line.vat_category} {plain(line.vat_rate)}", "number"),
             _text(plain(line.net_amount), "number")] for line in doc.lines]
    table = Table([header, *rows], colWidths=[88 * mm, 18 * mm, 24 * mm, 16 * mm, 24 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
    return table


def invoice_page(doc: InvoiceDocument) -> bytes:
    """The human-readable invoice: parties, dates and period, the lines, the VAT breakdown, totals and payment."""
    seller, buyer = doc.seller, doc.buyer
    story: list[Flowable] = [
        _text(f"{'Credit note' if doc.type_code == '381' else 'Invoice'} {doc.invoice_number}", "title"),
        _text(f"{seller.name}, {seller.address.street or ''} {seller.address.postal_code or ''} "
              f"{seller.address.city or ''} {seller.address.country}   VAT {seller.vat_id or '-'}"),
        _text(f"To: {buyer.name} ({buyer.erp_customer_number}), {buyer.address.street or ''} "
              f"{buyer.address.postal_code or ''} {buyer.address.city or ''} {buyer.address.country}"
              f"   VAT {buyer.vat_id or '-'}"),
        _text(f"Date {doc.issue_date.isoformat()}   Due {doc.due_date.isoformat() if doc.due_date else '-'}   "
              f"Period {doc.period_start.isoformat()} .. {doc.period_end.isoformat()}   Reference {doc.external_ref}"),
        *([_text(f"Corrects invoice {doc.preceding_invoice.number} of "
                 f"{doc.preceding_invoice.issue_date.isoformat()}")] if doc.preceding_invoice else []),
        Spacer(0, 4 * mm), _lines_table(doc), Spacer(0, 4 * mm),
        *(_text(f"VAT {row.category} {plain(row.rate)}% on {plain(row.taxable_amount)}: "
                f"{plain(row.tax_amount)} {doc.currency}") for row in doc.vat_breakdown),
        _text(f"Total net {plain(doc.total_net)}   VAT {plain(doc.total_vat)}   "
              f"Total {plain(doc.total_gross)} {doc.currency}"),
    ]
    if seller.iban and doc.type_code != "381":
        story.append(_text(f"Please pay to {seller.iban}, reference {doc.invoice_number}"))
    elif doc.type_code == "381":
        story.append(_text(f"We credit {plain(doc.amount_due)} {doc.currency} to your account, "
                           f"reference {doc.invoice_number}"))
    if doc.note:
        story += [Spacer(0, 4 * mm), _text(doc.note)]
    out = io.BytesIO()
    margin = 15 * mm  # the title and author are written by factur-x with the XMP metadata
    SimpleDocTemplate(out, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                      bottomMargin=margin, initialFontName=FONT).build(story)
    return out.getvalue()
