"""The human-readable invoice, laid out with ReportLab in DejaVu Sans and written as PDF/A-3b.

Why these choices: PDF/A-3 (which Factur-X is) requires every font embedded, an output intent with an ICC profile and
XMP metadata that names the PDF/A part. ReportLab embeds TrueType fonts as subsets; DejaVu comes from Debian's
fonts-dejavu-core (in the CI image's apt list), with ReportLab's own Vera as the fallback on machines without it. The
output intent carries an sRGB profile made by Pillow's LittleCMS binding, and the XMP is written here for the plain
PDF (the factur-x library replaces it with its own, Factur-X extension schema included, when it embeds the XML).
The page shows the same fields and figures as the XML and nothing it does not carry.
"""

from __future__ import annotations

import functools
import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, StreamObject, TextStringObject
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from erp_export.documents import InvoiceDocument, InvoiceLine
from erp_export.ubl import plain

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD_FONT = "InvoiceSans", "InvoiceSans-Bold"
NOTICES = {"AE": "Reverse charge: VAT is due by the recipient (Article 196 of Council Directive 2006/112/EC).",
           "O": "Not subject to VAT in the EU: the place of supply is outside the EU."}


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, after registering the embedded fonts with ReportLab (once per process)."""
    regular, bold = ((str(DEJAVU / "DejaVuSans.ttf"), str(DEJAVU / "DejaVuSans-Bold.ttf"))
                     if (DEJAVU / "DejaVuSans.ttf").exists() else ("Vera.ttf", "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont(FONT, regular))
    pdfmetrics.registerFont(TTFont(BOLD_FONT, bold))
    body = ParagraphStyle("body", fontName=FONT, fontSize=8, leading=11)
    return {"body": body, "bold": ParagraphStyle("bold", body, fontName=BOLD_FONT),
            "title": ParagraphStyle("title", body, fontName=BOLD_FONT, fontSize=14, leading=20),
            "number": ParagraphStyle("number", body, alignment=TA_RIGHT)}


def _text(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), _styles()[style])


def _table(rows: list[list[Flowable]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
    return table


def _parties(doc: InvoiceDocument) -> Table:
    seller, buyer = doc.seller, doc.buyer

    def block(title: str, name: str, street: str | None, postal: str | None, city: str | None, country: str,
              extra: list[str]) -> Paragraph:
        lines = [name, street or "", f"{postal or ''} {city or ''}".strip(), country, *extra]
        return _text(title + "\n" + "\n".join(line for line in lines if line))

    contact = seller.contact
    left = block("From", seller.name, seller.address.street, seller.address.postal_code, seller.address.city,
                 seller.address.country,
                 [f"VAT {seller.vat_id}" if seller.vat_id else "",
                  f"Registration {seller.registration_id}" if seller.registration_id else "",
                  " · ".join(v for v in (contact.name, contact.phone, contact.email) if v)])
    right = block("To", buyer.name, buyer.address.street, buyer.address.postal_code, buyer.address.city,
                  buyer.address.country, [f"Customer {buyer.erp_customer_number}",
                                          f"VAT {buyer.vat_id}" if buyer.vat_id else ""])
    table = Table([[left, right]], colWidths=[90 * mm, 90 * mm])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _facts(doc: InvoiceDocument) -> Paragraph:
    facts = [f"Date {doc.issue_date.isoformat()}", f"Due {doc.due_date.isoformat() if doc.due_date else '-'}",
             f"Period {doc.period_start.isoformat()} – {doc.period_end.isoformat()}",
             f"Your reference {doc.buyer_reference or doc.external_ref}"]
    if doc.preceding_invoice:
        facts.append(f"Corrects invoice {doc.preceding_invoice.number} of "
                     f"{doc.preceding_invoice.issue_date.isoformat()}")
    return _text("   ".join(facts))


def _specification(doc: InvoiceDocument) -> list[Flowable]:
    """Licences line by line (subscription, period, seats, days, unit price, amount), then usage grouped by meter
    category with a subtotal per group."""
    header = [_text("Description", "bold"), _text("Period", "bold")] + [
        _text(name, "number") for name in ("Qty", "Days", "Unit price", "VAT", "Net")]

    def row(line: InvoiceLine) -> list[Flowable]:
        return [_text(line.description), _text(f"{line.period_start.isoformat()}\n{line.period_end.isoformat()}"),
                _text(plain(line.quantity), "number"), _text(line.days or "", "number"),
                _text(plain(line.unit_price), "number"),
                _text(f"{line.vat_category} {plain(line.vat_rate)}%", "number"),
                _text(plain(line.net_amount), "number")]

    widths = [66, 22, 14, 12, 22, 16, 28]
    licences = [line for line in doc.lines if line.group is None]
    story: list[Flowable] = []
    if licences:
        story += [_text("Subscriptions", "bold"), _table([header, *map(row, licences)], widths), Spacer(0, 3 * mm)]
    groups: dict[str, list[InvoiceLine]] = {}
    for line in doc.lines:
        if line.group is not None:
            groups.setdefault(line.group, []).append(line)
    for group, lines in sorted(groups.items()):
        subtotal = sum((line.net_amount for line in lines), Decimal(0))
        total_row = [_text(f"Subtotal {group}", "bold"), *[_text("") for _ in range(5)],
                     _text(plain(subtotal), "number")]
        story += [_text(f"Usage: {group}", "bold"), _table([header, *map(row, lines), total_row], widths),
                  Spacer(0, 3 * mm)]
    return story


def _vat(doc: InvoiceDocument) -> Table:
    header = [_text(name, "bold") for name in ("VAT", "Taxable", "VAT amount", "Reason")]
    rows = [[_text(f"{row.category} {plain(row.rate)}%"), _text(plain(row.taxable_amount), "number"),
             _text(plain(row.tax_amount), "number"), _text(row.exemption_reason or "")] for row in doc.vat_breakdown]
    totals = [[_text("Total net"), _text(plain(doc.total_net), "number"), _text(""), _text("")],
              [_text("VAT"), _text(plain(doc.total_vat), "number"), _text(""), _text("")],
              [_text(f"Total {doc.currency}", "bold"), _text(plain(doc.total_gross), "number"), _text(""),
               _text("")]]
    return _table([header, *rows, *totals], [40, 30, 30, 80])


def _payment(doc: InvoiceDocument) -> list[Flowable]:
    seller = doc.seller
    story: list[Flowable] = []
    if doc.type_code == "381":
        story.append(_text(f"We credit {plain(doc.amount_due)} {doc.currency} to your account, "
                           f"reference {doc.invoice_number}."))
    elif seller.iban:
        story.append(_text(f"Please pay {plain(doc.amount_due)} {doc.currency} by "
                           f"{doc.due_date.isoformat() if doc.due_date else 'return'} to {seller.name}, "
                           f"IBAN {seller.iban}{f', BIC {seller.bic}' if seller.bic else ''}, "
                           f"reference {doc.invoice_number}."))
    if doc.payment_terms:
        story.append(_text(doc.payment_terms))
    categories = {row.category for row in doc.vat_breakdown}
    story += [_text(notice, "bold") for category, notice in NOTICES.items() if category in categories]
    return story


@functools.cache
def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"><pdf:Producer>{producer}</pdf:Producer>
</rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""
PRODUCER = "cspbill"


def _pdfa(pdf: bytes, title: str, author: str) -> bytes:
    """Add what PDF/A-3b asks of the catalog beyond embedded fonts: an sRGB output intent and XMP metadata that
    states every entry of the document information dictionary (title, author, producer; no dates)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    profile = StreamObject()
    profile._data = _srgb_profile()
    profile[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"), NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    })
    writer._root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    metadata = StreamObject()
    metadata._data = XMP.format(title=escape(title), author=escape(author), producer=PRODUCER).encode()
    metadata.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    writer._root_object[NameObject("/Metadata")] = writer._add_object(metadata)
    writer.metadata = {"/Title": title, "/Author": author, "/Producer": PRODUCER}
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def invoice_page(doc: InvoiceDocument) -> bytes:
    """The human-readable invoice: parties, dates and period, the lines, the VAT breakdown, totals and payment."""
    kind = "Credit note" if doc.type_code == "381" else "Invoice"
    story: list[Flowable] = [
        _text(f"{kind} {doc.invoice_number}", "title"), _parties(doc), Spacer(0, 4 * mm), _facts(doc),
        Spacer(0, 4 * mm), *_specification(doc), _vat(doc), Spacer(0, 4 * mm), *_payment(doc),
    ]
    if doc.note:
        story += [Spacer(0, 4 * mm), _text(doc.note)]
    out = io.BytesIO()
    margin, title = 15 * mm, f"{doc.seller.name}: {kind} {doc.invoice_number}"
    SimpleDocTemplate(out, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                      bottomMargin=margin, initialFontName=FONT, title=title, author=doc.seller.name,
                      invariant=True).build(story)
    return _pdfa(out.getvalue(), title, doc.seller.name)
