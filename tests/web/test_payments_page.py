"""The finance payments page, on SQLite and PostgreSQL: a statement uploaded through the form (once), the review
queue's accept and re-assign, unapply with a reason, open items with their creditor reference, the straight-through
rate, the invoice page's reference, and that the desk role cannot open or change any of it."""

from __future__ import annotations

import pytest

from config import Settings
from rating.payments.reference import creditor_reference, printed
from tests.conftest import sqlite_only
from tests.services.payments.seed import booking, seed_invoices, statement
from tests.web.conftest import csrf_of, signed_in

pytestmark = sqlite_only  # pages over the services: both databases are covered below them

FILE = statement([
    booking("W-1", "242.00", "Contoso Zorg B.V.", None, creditor_reference("NL2026-00001")),
    booking("W-2", "121.00", "Northwind", None, None, "October"),  # payer unknown: review
    booking("W-3", "318.40", "Stichting Onbekend"),  # nothing matches
])


@pytest.fixture
def invoices(settings: Settings, desk_secret: None) -> dict[str, int]:
    return seed_invoices(settings)


def test_finance_uploads_decides_and_takes_back(settings: Settings, invoices: dict[str, int]) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get("/payments")
    assert page.status_code == 200 and "Nothing waits for a decision." in page.text
    assert printed(creditor_reference("NL2026-00002")) in page.text
    sent = finn.post("/payments/import", data={"csrf_token": csrf_of(page.text)},
                     files={"file": ("nov.xml", FILE, "application/xml")})
    after = finn.get(sent.headers["location"]).text
    assert "nov.xml: 1 statement(s) for nl-bv: 3 new entries; 1 applied, 1 review, 1 unmatched" in after
    assert "payer unknown; amount equals the open amount of NL2026-00003" in after
    again = finn.post("/payments/import", data={"csrf_token": csrf_of(after)},
                      files={"file": ("nov.xml", FILE, "application/xml")})
    assert "already imported" in finn.get(again.headers["location"]).text
    accepted = finn.post("/payments/entries/2/accept", data={"csrf_token": csrf_of(after)})
    page = finn.get(accepted.headers["location"]).text
    assert "bank entry 2: applied (NL2026-00003); learned name northwind" in page
    moved = finn.post("/payments/entries/3/reassign", data={"csrf_token": csrf_of(page), "invoices": "NL2026-00004"})
    page = finn.get(moved.headers["location"]).text
    assert "bank entry 3: applied (NL2026-00004)" in page
    assert "2026-11</td><td class=\"num\">3</td><td class=\"num\">1</td>" in page.replace("\n", "")
    undone = finn.post("/payments/entries/3/unapply", data={"csrf_token": csrf_of(page), "reason": ""})
    assert "field reason" in finn.get(undone.headers["location"]).text
    undone = finn.post("/payments/entries/3/unapply", data={"csrf_token": csrf_of(page), "reason": "a gift"})
    assert "bank entry 3: review" in finn.get(undone.headers["location"]).text
    invoice = finn.get(f"/invoices/{invoices['NL2026-00001']}").text
    assert printed(creditor_reference("NL2026-00001")) in invoice


def test_the_desk_cannot_open_or_change_payments(settings: Settings, invoices: dict[str, int]) -> None:
    dana = signed_in(settings, "dana")
    assert dana.get("/payments").status_code == 403
    token = csrf_of(dana.get("/").text)
    assert dana.post("/payments/entries/1/accept", data={"csrf_token": token}).status_code == 403
    assert dana.post("/payments/import", data={"csrf_token": token},
                     files={"file": ("x.xml", FILE, "application/xml")}).status_code == 403
