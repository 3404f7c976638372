"""The payments page's way out: the statement-of-account download per customer, the days-to-pay chart, and the
buttons that send applied payments to the ERP and reminders, each refusal flashed as the service's one sentence."""

from __future__ import annotations

import pytest

from config import Settings
from rating.payments.reference import creditor_reference
from tests.conftest import sqlite_only
from tests.services.payments.seed import booking, seed_invoices, statement
from tests.web.conftest import csrf_of, signed_in

pytestmark = sqlite_only  # pages over the services: both databases are covered below them


@pytest.fixture
def invoices(settings: Settings, desk_secret: None) -> dict[str, int]:
    return seed_invoices(settings)


def test_statement_chart_and_the_send_buttons(settings: Settings, invoices: dict[str, int]) -> None:
    finn = signed_in(settings, "finn")
    page = finn.get("/payments")
    assert "No payment applied yet." in page.text and "No reminder sent yet." in page.text
    finn.post("/payments/import", data={"csrf_token": csrf_of(page.text)}, files={"file": ("nov.xml", statement([
        booking("W-1", "242.00", "Contoso Zorg B.V.", None, creditor_reference("NL2026-00001"))]), "application/xml")})
    page = finn.get("/payments")
    assert '<figure class="chart" id="days-to-pay"><svg' in page.text.replace("\n", "")
    assert 'href="/payments/statement/nl-bv/2"' in page.text  # Fabrikam's open invoice
    pdf = finn.get("/payments/statement/nl-bv/2")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith('attachment; filename="statement-nl-bv-2-')
    reminded = finn.post("/payments/remind", data={"csrf_token": csrf_of(page.text)})
    assert "payments.reminders.enabled is false" in finn.get(reminded.headers["location"]).text
    exported = finn.post("/payments/export", data={"csrf_token": csrf_of(page.text)})
    flashed = finn.get(exported.headers["location"]).text
    assert "tenant &#39;nl-bv&#39;: erp credentials: environment variable CSPBILL_EXACT_CLIENT_ID is not set" in flashed


def test_the_desk_cannot_download_a_statement(settings: Settings, invoices: dict[str, int]) -> None:
    dana = signed_in(settings, "dana")
    assert dana.get("/payments/statement/nl-bv/2").status_code == 403
