"""The payments page in a real browser (Playwright + Debian's Chromium): the days-to-pay chart is an inline SVG
with one point per month and entity, and a customer's statement of account downloads as a PDF from the open items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from rating.payments.reference import creditor_reference
from services.clock import FixedClock
from services.payments import import_statement
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.payments.seed import booking, seed_invoices, statement
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve

pytestmark = pytest.mark.browser
NOW = FixedClock(dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    folder = tmp_path_factory.mktemp("web-payments")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    seed_invoices(settings)
    import_statement(settings, actor(settings, "finn"), statement([
        booking("P-1", "242.00", "Contoso Zorg B.V.", None, creditor_reference("NL2026-00001"), day=10),
        booking("P-2", "300.00", "Fabrikam Logistiek", None, creditor_reference("NL2026-00002"), day=24)]),
        "nov.xml", NOW)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-payments-test-secret")
        with serve(create_app(settings, NOW)) as url:
            yield url, settings


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
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_chart_and_the_statement_download(page: Page, desk: tuple[str, Settings], tmp_path: Path) -> None:
    url, _ = desk
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill("finn")
    page.get_by_label("Password").fill("demo-finn")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{url}/payments")
    chart = page.locator("figure#days-to-pay svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("Average days from invoice to payment")
    expect(chart.locator("g.mark-symbol.role-mark path")).to_have_count(1)  # one month (2026-11), one entity
    expect(chart).to_contain_text("2026-11")
    page.screenshot(path=str(screenshot_path("payments")), full_page=True)
    row = page.get_by_role("row").filter(has_text="NL2026-00002")
    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "statement-nl-bv-2-2026-11-30.pdf"
    assert saved.read_bytes().startswith(b"%PDF")
