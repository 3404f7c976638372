"""The month in a real browser: desk, finance, four-eyes approval, export status, refusals (Playwright + Chromium).

One seeded ledger (SQLite) and one server for the module; the tests run in file order like the month does: the
desk's refused reduction, finance's review down to a line's lineage, anna's approval, the export, and the refusals
(desk approving, another entity's invoice by URL, a form without its CSRF token). Screenshots of the main pages go
to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from desk.web.vega import CURRENT
from sandbox import bc_soap as bc_sandbox
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from services.clock import FixedClock
from services.export import export_invoices, export_status
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.export.test_export_outbox import FAST, Soap, soap_settings
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import MONTH, NOW, Seeded, seed_month

pytestmark = pytest.mark.browser


@dataclass
class Month:
    base_url: str
    settings: Settings
    seeded: Seeded
    soap: Soap


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    folder = tmp_path_factory.mktemp("web-month")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    base = parse_settings(data, folder / "config.yaml")
    app = bc_sandbox.build(SandboxClock(), seed=1)
    server = SandboxServer(app, prefix=bc_sandbox.PREFIX).start()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_BC_SOAP_USER", bc_sandbox.CREDENTIALS["username"])
        env.setenv("CSPBILL_BC_SOAP_KEY", bc_sandbox.CREDENTIALS["password"])
        env.setenv("CSPBILL_SESSION_SECRET", "web-month-test-secret")
        soap = Soap(app, server)
        settings = soap_settings(base, soap, folder)
        seeded = seed_month(settings)
        try:
            with serve(create_app(settings, FixedClock(NOW))) as url:
                yield Month(url, settings, seeded, soap)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, month: Month, username: str) -> None:
    page.goto(f"{month.base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f"demo-{username}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def shoot(page: Page, name: str) -> Path:
    path = screenshot_path(name)
    page.screenshot(path=str(path), full_page=True)
    return path


def test_desk_enters_a_late_reduction_and_sees_why_it_is_refused(page: Page, month: Month) -> None:
    if importlib.util.find_spec("services.desk.mutations") is None:
        pytest.skip("services.desk.mutations (NCE-validated mutation add) has not landed yet")
    sign_in(page, month, "dana")
    page.get_by_role("link", name="Subscriptions").click()
    page.get_by_label("Product, SKU, subscription id or customer").fill("Contoso")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Microsoft 365 E3").click()
    expect(page.get_by_role("heading", name="Quantity history")).to_be_visible()
    shoot(page, "subscription")
    page.get_by_label("Change").select_option("decrease")
    page.get_by_label("Effective date").fill("2026-11-26")
    page.get_by_label("New number of seats").fill("8")
    page.get_by_label("Ticket").fill("INC-4711")
    page.get_by_role("button", name="Check and preview").click()
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text("refused")
    expect(refusal).to_contain_text("2027-01-10")  # the renewal: the next day a reduction can take effect
    shoot(page, "mutation-refused")


def test_finance_reviews_the_batch_down_to_a_lines_lineage(page: Page, month: Month) -> None:
    sign_in(page, month, "finn")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Batches").click()
    shoot(page, "batches")
    page.get_by_role("link", name=f"nl-bv {MONTH}").click()
    expect(page.get_by_role("heading", name=f"Batch nl-bv {MONTH}")).to_be_visible()
    expect(page.locator(f'figure.chart svg path[aria-roledescription="bar"][fill="{CURRENT}"]')).to_have_count(1)
    expect(page.locator('figure.chart svg path[aria-roledescription="bar"]')).to_have_count(2)
    totals = page.get_by_role("table", name="Totals per currency", exact=True)
    expect(totals).to_contain_text("983.17")  # built by the batch service from the seeded snapshots
    diff = page.get_by_role("table", name=re.compile("Net per customer"))
    expect(diff.get_by_role("row", name=re.compile("Contoso Zorg"))).to_contain_text("81.57")  # two more seats
    expect(page.get_by_role("button", name="Approve batch")).to_have_count(0)  # finn is no approver
    shoot(page, "batch")
    tabs = page.get_by_role("navigation", name="Batch sections")
    tabs.get_by_role("link", name=re.compile("Discrepancies")).click()
    expect(page.get_by_role("table", name="Open discrepancies affecting this batch")).to_contain_text(
        "vendor shows 12 since 2026-10-05, no mutation")
    tabs.get_by_role("link", name=re.compile("Invoices")).click()
    page.get_by_role("table", name=re.compile("Invoices of batch")).get_by_role("row", name=re.compile("Contoso")) \
        .get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("Invoice"))).to_be_visible()
    shoot(page, "invoice")
    page.get_by_role("link", name=re.compile("Lineage")).first.click()
    # the two seats seen on 2026-10-05: charged at 12 for the rest of the cycle (and 10 credited, the next line)
    expect(page.get_by_role("heading", name="Why is this line 69.92 EUR?")).to_be_visible()
    expect(page.locator("code.formula")).to_have_text("12 × 34.96 × 5/30")
    expect(page.locator("ul.inputs")).to_contain_text("snapshot:")
    expect(page.locator("dd", has_text="half_up")).to_be_visible()
    expect(page.locator("dd", has_text=re.compile(r"cost 30\.4\b.*\+ 15%"))).to_be_visible()
    expect(page.get_by_role("table", name="More about this line")).to_contain_text("no confirming mutation")
    shoot(page, "lineage")


def test_a_second_person_approves_and_the_export_status_shows(page: Page, month: Month) -> None:
    if importlib.util.find_spec("services.batches.approval") is None:
        pytest.skip("services.batches.approval (four-eyes approval) has not landed yet")
    sign_in(page, month, "anna")
    page.goto(f"{month.base_url}/batches/{month.seeded.nl_batch}")
    page.get_by_role("button", name="Approve batch").click()
    expect(page.get_by_role("status")).to_contain_text("approved, invoices NL2026-00003 to NL2026-00004")
    expect(page.get_by_role("heading", name=f"Batch nl-bv {MONTH}")).to_contain_text("approved")
    shoot(page, "batch-approved")

    export_invoices(month.settings, actor(month.settings, "anna"), "nl-bv", clock=FixedClock(NOW), policy=FAST)
    rows = export_status(month.settings, actor(month.settings, "finn"), "nl-bv", month.seeded.nl_batch)
    assert rows and all(row.status in ("sent", "failed", "queued") for row in rows), rows
    page.get_by_role("navigation", name="Batch sections").get_by_role("link", name=re.compile("Invoices")).click()
    invoices = page.get_by_role("table", name=re.compile("Invoices of batch"))
    for row in rows:  # the batch page shows each invoice's outbox state as the export service reports it
        expect(invoices.get_by_role("row", name=re.compile(row.invoice_number))).to_contain_text(row.status)
    shoot(page, "batch-exported")
    sent = next((row for row in rows if row.status == "sent"), None)
    assert sent is not None, rows
    invoices.get_by_role("link", name=sent.invoice_number).click()
    export = page.get_by_role("table", name="Export attempts of this invoice")
    expect(export).to_contain_text("sent")
    expect(export).to_contain_text(sent.erp_document_id)
    expect(export.get_by_role("button", name="Retry now")).to_have_count(0)
    shoot(page, "invoice-exported")
    failed = next((row for row in rows if row.status != "sent"), None)
    if failed is not None:  # a row the ERP refused: its error is shown and a person can retry it
        page.goto(f"{month.base_url}/invoices/{failed.invoice_id}")
        export = page.get_by_role("table", name="Export attempts of this invoice")
        expect(export).to_contain_text(failed.last_error or "")
        export.get_by_role("button", name="Retry now").click()
        expect(page.locator(".flash")).to_contain_text(f"Export of invoice {failed.invoice_number}")
        shoot(page, "invoice-export-retried")


def test_a_desk_user_is_refused_the_approve_action(page: Page, month: Month) -> None:
    sign_in(page, month, "dana")
    response = page.goto(f"{month.base_url}/batches/{month.seeded.de_batch}")
    assert response is not None and response.status == 403
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: "POST", body: new URLSearchParams({csrf_token: token}),
             headers: {"Content-Type": "application/x-www-form-urlencoded"}})).status""",
        [f"{month.base_url}/batches/{month.seeded.de_batch}/approve", token],
    )
    assert status == 403


def test_the_builder_cannot_approve_their_own_batch(page: Page, month: Month) -> None:
    if importlib.util.find_spec("services.batches.approval") is None:
        pytest.skip("services.batches.approval (four-eyes approval) has not landed yet")
    sign_in(page, month, "greta")
    page.goto(f"{month.base_url}/batches/{month.seeded.de_batch}")
    page.get_by_role("button", name="Approve batch").click()
    expect(page.get_by_role("alert")).to_contain_text("four-eyes")
    expect(page.get_by_role("heading", name=f"Batch de-gmbh {MONTH}")).to_contain_text("draft")


def test_another_entitys_invoice_by_url_is_not_found(page: Page, month: Month) -> None:
    sign_in(page, month, "greta")
    response = page.goto(f"{month.base_url}/invoices/{month.seeded.nl_invoice}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Contoso")).to_have_count(0)
    shoot(page, "other-entity-404")


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, month: Month) -> None:
    sign_in(page, month, "dana")
    page.goto(f"{month.base_url}/discrepancies")
    form = page.locator("form[action='/discrepancies/bulk']")
    form.get_by_label(f"Select finding {month.seeded.nl_discrepancy}").check()
    form.get_by_label("Note").fill("checked with the customer")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(re.compile("/discrepancies/bulk$")) as answer:
        form.get_by_role("button", name="Apply").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    shoot(page, "csrf-refused")


def test_keyboard_users_skip_to_the_content(page: Page, month: Month) -> None:
    sign_in(page, month, "dana")
    page.goto(f"{month.base_url}/customers")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    expect(page.locator(".skip-link")).to_be_visible()  # hidden until focused
    shoot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"  # the search field comes first in the content


@pytest.mark.parametrize(("user", "path", "name"), [
    ("finn", "/operations", "operations"),
    ("anna", "/", "home"),
    ("dana", "/customers", "customers"),
    ("dana", "/discrepancies", "discrepancies"),
    ("ada", "/subscriptions", "subscriptions"),
])
def test_main_pages_render_for_their_people(page: Page, month: Month, user: str, path: str, name: str) -> None:
    sign_in(page, month, user)
    response = page.goto(f"{month.base_url}{path}")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_count(1)
    shoot(page, name)
