"""The invoice page offers an approved invoice's e-invoice files, and each link downloads the file the services
write (same bytes as `cspbill einvoice`), for those who may see the invoice only."""

from __future__ import annotations

from lxml import etree

from config import Settings
from services.operations import initialise
from tests.conftest import sqlite_only
from tests.services.export.test_einvoice_validation import nl_domestic
from tests.web.conftest import signed_in

pytestmark = sqlite_only  # pages over the services: both databases are covered below them


def test_invoice_page_links_and_downloads(settings: Settings) -> None:
    initialise(settings)
    invoice_id = nl_domestic(settings)
    anna = signed_in(settings, "anna")
    page = anna.get(f"/invoices/{invoice_id}").text
    for fmt in ("pdf", "facturx", "ubl", "cii", "xrechnung"):
        assert f'href="/invoices/{invoice_id}/files/{fmt}"' in page
    ubl = anna.get(f"/invoices/{invoice_id}/files/ubl")
    assert ubl.status_code == 200 and ubl.headers["content-type"].startswith("application/xml")
    assert ubl.headers["content-disposition"] == 'attachment; filename="NL2026-00001.ubl.xml"'
    assert etree.fromstring(ubl.content).findtext(
        "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ID") == "NL2026-00001"
    pdf = anna.get(f"/invoices/{invoice_id}/files/facturx")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert anna.get(f"/invoices/{invoice_id}/files/docx").status_code == 400
    assert signed_in(settings, "greta").get(f"/invoices/{invoice_id}/files/ubl").status_code == 404
