"""The official EN 16931 and Peppol BIS Billing 3.0 rules (../shared/validation/einvoice/, compiled XSLT run with
saxonche) as a test helper: which fatal rules an e-invoice breaks. Where the folder is absent, as in a user's own
clone, :func:`rules_or_skip` skips the test and says why."""

from __future__ import annotations

import functools
import io
import re

import pytest
from lxml import etree
from pypdf import PdfReader
from saxonche import PySaxonProcessor, PyXsltExecutable

from tests.conftest import ROOT

RULES_DIR = ROOT.parent / "shared" / "validation" / "einvoice"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
EN16931 = {"ubl": ("EN16931-UBL-validation.xslt", "CEN-EN16931-UBL-1.3.14.1.xslt"),
           "cii": ("EN16931-CII-validation.xslt", "CEN-EN16931-CII-1.3.14.1.xslt")}
PEPPOL = ("PEPPOL-EN16931-UBL.xslt",)


def rules_or_skip() -> None:
    if not (RULES_DIR / PEPPOL[0]).exists():
        pytest.skip(f"the official e-invoice rules are not at {RULES_DIR} (CI and developers have them there)")


@functools.cache
def _processor() -> PySaxonProcessor:
    return PySaxonProcessor(license=False)


@functools.cache
def _compiled(name: str) -> PyXsltExecutable:
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES_DIR / name))


def xml_of(content: bytes) -> bytes:
    """The XML itself, or the XML a Factur-X PDF embeds."""
    if content[:4] == b"%PDF":
        import facturx

        return facturx.get_xml_from_pdf(content, check_xsd=False)[1]
    return content


def fatal_findings(content: bytes, peppol: bool = True) -> dict[str, list[str]]:
    """``{rule set: [failed rule id: text, ...]}`` of every fatal assert ``content`` fails, for the EN 16931 rules
    of its syntax and, for UBL when ``peppol``, the Peppol BIS 3 rules (national rules included)."""
    xml = xml_of(content)
    syntax = "cii" if "CrossIndustryInvoice" in (etree.QName(etree.fromstring(xml)).namespace or "") else "ubl"
    sets = EN16931[syntax] + (PEPPOL if peppol and syntax == "ubl" else ())
    found: dict[str, list[str]] = {}
    for name in sets:
        node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
        report = etree.fromstring(_compiled(name).transform_to_string(xdm_node=node).encode())
        fatal = [f"{e.get('id')}: {' '.join(''.join(e.itertext()).split())[:160]}"
                 for e in report.iter(SVRL + "failed-assert", SVRL + "successful-report")
                 if (e.get("flag") or "fatal") == "fatal"]
        if fatal:
            found[name] = fatal
    return found


PDFA_PART_3 = re.compile(rb'pdfaid:part(?:>|=")3')


def pdfa3_problems(pdf: bytes) -> list[str]:
    """What keeps ``pdf`` from the PDF/A-3 structure we rely on: an output intent, XMP naming PDF/A part 3, and
    every font embedded. (No full PDF/A validator such as veraPDF runs here.)"""
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    problems = [] if "/OutputIntents" in root else ["no output intent"]
    metadata = root.get("/Metadata")
    if metadata is None or not PDFA_PART_3.search(metadata.get_object().get_data()):
        problems.append("no XMP naming PDF/A part 3")
    for page in reader.pages:
        for name, font in page["/Resources"].get("/Font", {}).items():
            font = font.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font
                          else font).get("/FontDescriptor")
            if descriptor is None or not {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.get_object()):
                problems.append(f"font {name} ({font.get('/BaseFont')}) is not embedded")
    return problems
