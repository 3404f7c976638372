"""Around the month in a real browser (Playwright + Chromium): the audit page's filter, the pages at a phone's
390 px without sideways scrolling, and the language switch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config.loader import parse_settings
from desk.web.app import create_app
from services.clock import FixedClock
from tests.conftest import demo_config_data
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import NOW, Seeded, seed_month

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@dataclass
class Desk:
    base_url: str
    seeded: Seeded


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("web-around")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-around-test-secret")
        seeded = seed_month(settings, extra_customers=30)
        with serve(create_app(settings, FixedClock(NOW))) as url:
            yield Desk(url, seeded)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser, {"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from new_page(browser, PHONE)


def sign_in(page: Page, desk: Desk, username: str) -> None:
    page.goto(f"{desk.base_url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f"demo-{username}")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_finance_filters_the_audit_trail_by_actor(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "anna")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.locator(".chain-ok")).to_contain_text("nl-bv:")
    expect(page.locator("tbody tr").filter(has_text="batch.build").first).to_be_visible()
    page.get_by_label("Actor").fill("anna")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{desk.base_url}/audit?tenant=&actor=anna&action=&since=&until=")
    actions = page.locator("tbody tr td code").all_inner_texts()
    assert actions and set(actions) == {"batch.approve"}
    page.screenshot(path=str(screenshot_path("audit")), full_page=True)


@pytest.mark.parametrize("where", ["home", "batches", "batch", "invoice", "customers", "audit", "login"])
def test_no_sideways_scrolling_at_390_px(phone: Page, desk: Desk, where: str) -> None:
    paths = {"home": "/", "batches": "/batches", "batch": f"/batches/{desk.seeded.nl_batch}",
             "invoice": f"/invoices/{desk.seeded.nl_invoice}", "customers": "/customers", "audit": "/audit",
             "login": "/login"}
    if where != "login":
        sign_in(phone, desk, "anna")
    response = phone.goto(f"{desk.base_url}{paths[where]}")
    assert response is not None and response.status == 200
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{where}: the page is {width} px wide at {PHONE['width']} px"
    phone.screenshot(path=str(screenshot_path(f"narrow-{where}")), full_page=True)


def test_the_language_switch_speaks_dutch(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "finn")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Customers")).to_be_visible()
    page.get_by_role("button", name="Nederlands").click()
    nav = page.get_by_role("navigation", name="Hoofdmenu")
    for label in ("Klanten", "Abonnementen", "Afwijkingen", "Betalingen"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Fijn je te zien, finn")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Kunden")).to_be_visible()
