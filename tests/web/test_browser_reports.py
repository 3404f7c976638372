"""Finance's reports in a real browser (Playwright + Debian's Chromium): finn opens the margin report from the
navigation, sees the negative-margin alert and the chart, downloads the margin table as CSV and reads it, then
finds the never-billed vendor charge on the vendor-invoice check. Screenshots go to ``artifacts/screenshots/``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config.loader import parse_settings
from desk.web.app import create_app
from services.clock import FixedClock
from tests.conftest import demo_config_data
from tests.services.reports.seed import seed_reports
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import NOW

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web-reports")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    seed_reports(settings)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-reports-test-secret")
        with serve(create_app(settings, FixedClock(NOW))) as url:
            yield url


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


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f"demo-{username}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_finance_sees_negative_margin_and_downloads_the_csv(page: Page, base_url: str, tmp_path: Path) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, base_url, "finn")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Margin", exact=True)).to_be_visible()
    page.get_by_label("From month").fill("2026-09")
    page.get_by_label("To month").fill("2026-10")
    page.get_by_role("button", name="Show").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Negative margin: 1 row (customer, product and month)")
    expect(alert).to_contain_text("Contoso Zorg B.V.")
    expect(alert).to_contain_text("-68.83 EUR")
    expect(page.get_by_role("img", name="Margin per customer, lowest first")).to_be_visible()
    table = page.get_by_role("table", name="Margin per customer, product and month")
    expect(table.get_by_role("row", name="2026-10").filter(has_text="Contoso")).to_contain_text("-68.83")
    page.screenshot(path=str(screenshot_path("reports-margin")), full_page=True)
    with page.expect_download() as waiting:
        page.get_by_role("region", name="Margin per customer, product and month").get_by_role(
            "link", name="CSV").click()
    download = waiting.value
    assert download.suggested_filename == "margin-2026-09-2026-10.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-4:] == ["billed", "vendor cost", "margin", "negative"]
    assert ["nl-bv", "Contoso Zorg B.V.", "Microsoft 365 E3", "2026-10", "EUR", "431.17", "500.00", "-68.83",
            "yes"] in rows
    assert len(rows) == 5  # the header and the four rows the page shows
    assert violations == []  # the inline SVG charts need no inline style or script


def test_finance_finds_the_vendor_charge_never_billed(page: Page, base_url: str) -> None:
    sign_in(page, base_url, "finn")
    page.goto(f"{base_url}/reports/margin?first=2026-09&last=2026-10")
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Vendor-invoice check").click()
    unbilled = page.get_by_role("table", name="Vendor charges never billed (revenue leakage)")
    expect(unbilled).to_contain_text("2026-09-02")
    expect(unbilled).to_contain_text("33.30")
    page.screenshot(path=str(screenshot_path("reports-leakage")), full_page=True)
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="MRR and seats").click()
    expect(page.get_by_role("table", name="MRR and ARR per legal entity and month")).to_contain_text("11,798.04")
