"""Export from the browser (Playwright + Chromium): finance opens an approved batch, sees what the ERP will receive,
presses "Export all", watches the page count the invoices out (it reloads itself, no JavaScript needed), sees the
one the ERP refused with the ERP's sentence, and "Retry all failed" sends it once (checked at the BC SOAP sandbox).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.export import erp_reference, export_status
from tests.identity import actor
from tests.services.export.test_export_outbox import SOAP
from tests.web.test_browser_month import (  # noqa: F401 - browser, month and page are fixtures used here
    Month,
    browser,
    month,
    page,
    shoot,
    sign_in,
)
from tests.web.test_export_page import REJECTED

pytestmark = pytest.mark.browser

MONTH = "2026-09"  # the seeded batch anna approved


def test_finance_exports_an_approved_batch_and_retries_the_refused_invoice(page: Page, month: Month) -> None:  # noqa: F811
    sign_in(page, month, "finn")
    page.goto(f"{month.base_url}/batches/{month.seeded.previous_batch}")
    page.get_by_role("link", name=re.compile("Export to the ERP")).click()
    expect(page.get_by_role("heading", name=f"Export of batch nl-bv {MONTH}")).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Invoices of the batch"))
    contoso = table.get_by_role("row", name=re.compile("Contoso Zorg"))
    expect(contoso).to_contain_text("create")
    expect(contoso).to_contain_text("NL2026-0000")
    expect(contoso).to_contain_text("EUR")
    expect(table.get_by_role("row", name=re.compile("Fabrikam Logistiek"))).to_contain_text("create")
    expect(page.locator("#progress")).to_contain_text("0 of 2 done, 0 failed")
    shoot(page, "export-preview")

    month.soap.app.faults.arm(SOAP, kind="status", status=500, body=REJECTED, after=3)  # the second create
    month.soap.app.faults.arm(SOAP, kind="delay", seconds=0.6, times=4)  # a slow ERP: the page shows the run
    page.get_by_role("button", name="Export all").click()
    expect(page.locator("#progress")).to_contain_text("export running")
    shoot(page, "export-running")
    expect(page.locator("#progress")).to_contain_text("1 of 2 done, 1 failed", timeout=30_000)
    failed = table.get_by_role("row", name=re.compile("failed"))
    expect(failed).to_contain_text("The Customer does not exist")
    shoot(page, "export-failed")

    month.soap.app.faults.clear()
    page.get_by_role("button", name="Retry all failed").click()
    expect(page.locator("#progress")).to_contain_text("2 of 2 done, 0 failed", timeout=30_000)
    expect(table.get_by_role("row", name=re.compile("failed"))).to_have_count(0)
    shoot(page, "export-done")
    rows = export_status(month.settings, actor(month.settings, "finn"), "nl-bv", month.seeded.previous_batch)
    assert [row.status for row in rows] == ["sent", "sent"]
    for row in rows:
        assert len(month.soap.documents(erp_reference("nl-bv", row.invoice_number))) == 1, row.invoice_number

    table.get_by_role("link", name=rows[0].invoice_number).click()
    export = page.get_by_role("table", name="Export attempts of this invoice")
    expect(export).to_contain_text("sent")
    page.get_by_role("link", name=re.compile(f"Export page of batch nl-bv {MONTH}")).click()
    expect(page.get_by_role("heading", name=f"Export of batch nl-bv {MONTH}")).to_be_visible()
