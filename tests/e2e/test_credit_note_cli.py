"""A credit note reached through the real ``cspbill`` console script and the web desk: `batch show` names it before
and after approval with the invoice it corrects, `batch approve` counts it, `cspbill einvoice` writes a UBL
CreditNote (381) that refers to the corrected invoice, and the invoice page titles it "Credit note"."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from config import Settings
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import as_json, config_file, cspbill  # noqa: F401 - the CLI config fixture, reused
from tests.services.batches.test_credit_notes import invoices, seats_lowered_after_export
from tests.web.conftest import signed_in

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def test_credit_note_from_review_to_einvoice(settings: Settings, config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    seats_lowered_after_export(settings)
    april = invoices(settings)["Contoso/2026-04"]
    shown = cspbill(config_file, "batch", "show", "--tenant", "nl-bv", "--month", "2026-05", "--as", "finn").stdout
    assert "credit notes (negative total, type 381)" in shown
    assert "(numbered at approval)" in shown and f"{april.number} of 2026-05-02" in shown
    approved = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-05", "--as", "anna")
    assert "2 invoices (1 credit notes)" in approved.stdout
    credit = invoices(settings)["Contoso/2026-05"]
    [note] = as_json(config_file, "batch", "show", "--tenant", "nl-bv", "--month", "2026-05", "--as", "finn")[
        "credit_notes"]
    assert (note["number"], note["decided"], note["corrects"][0]["number"]) == (credit.number, True, april.number)
    out = tmp_path / "einvoices"
    cspbill(config_file, "einvoice", "--batch", "2026-05", "--tenant", "nl-bv", "--format", "ubl", "--out", str(out),
            "--as", "finn")
    root = etree.parse(str(out / f"{credit.number}.ubl.xml")).getroot()
    assert root.findtext(f"{{{CBC}}}CreditNoteTypeCode") == "381"
    assert root.findtext(f"{{{CAC}}}BillingReference/{{{CAC}}}InvoiceDocumentReference/{{{CBC}}}ID") == april.number
    page = signed_in(settings, "finn").get(f"/invoices/{credit.id}").text
    assert f"<h1>Credit note {credit.number}" in page
    assert f'<a href="/invoices/{april.id}">Invoice {april.number}</a> of 2026-05-02' in page
    batch_page = signed_in(settings, "finn").get(f"/batches/{credit.batch_id}?tab=invoices").text
    assert f"{credit.number}</a> <small>credit note</small>" in batch_page
