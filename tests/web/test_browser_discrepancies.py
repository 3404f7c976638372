"""The discrepancy page in a real browser (Playwright + Chromium): counts and the amount at stake, a filter by kind,
sorting by the amount at stake, and resolving two selected findings with one note."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from ledger.models import Discrepancy
from services.clock import FixedClock
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import NOW, seed_month

pytestmark = pytest.mark.browser
# Findings of the seeded nl-bv subscriptions: (subscription external id, kind, first day, last day, amount)
FINDINGS = [
    ("sub-e3-0001", "vendor_change_unexplained", dt.date(2026, 10, 5), dt.date(2026, 10, 31), "12.50"),
    ("sub-bp-0001", "vendor_change_unexplained", dt.date(2026, 10, 2), dt.date(2026, 10, 31), "88.00"),
    ("sub-bp-0001", "billed_vs_vendor", dt.date(2026, 10, 1), dt.date(2026, 10, 9), "40.00"),
]


@dataclass
class Desk:
    base_url: str
    settings: Settings


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("web-discrepancies")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-discrepancies-test-secret")
        seed_month(settings)
        with UnitOfWork(engine_for(settings), write=True) as uow:
            subs = {s.external_id: s for s in uow.subscriptions.by_source("partner-center")}
            for external_id, kind, first, last, amount in FINDINGS:
                sub = subs[external_id]
                uow.session.add(Discrepancy(
                    tenant_id=sub.tenant_id, customer_id=sub.customer_id, subscription_id=sub.id,
                    fingerprint=f"{kind}:{sub.id}:2026-10", kind=kind, day=first, last_day=last,
                    sentence=f"{kind} of {external_id}", details={"month": "2026-10"}, month="2026-10",
                    amount=Decimal(amount), currency="EUR", status="open"))
        with serve(create_app(settings, FixedClock(NOW))) as url:
            yield Desk(url, settings)


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


def rows(page: Page):
    return page.get_by_role("table", name=re.compile("Findings")).locator("tbody tr")


def test_the_desk_filters_sorts_and_resolves_findings_in_bulk(page: Page, desk: Desk) -> None:
    page.goto(f"{desk.base_url}/login")
    page.get_by_label("User name").fill("dana")
    page.get_by_label("Password").fill("demo-dana")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Discrepancies").click()
    summary = page.locator("#summary")
    expect(summary).to_contain_text("5 findings matching")  # the seeded two and the three above
    expect(summary).to_contain_text("140.50 EUR")
    expect(page.locator("[data-kind=vendor_change_unexplained]")).to_have_text("2")

    page.get_by_label("Kind", exact=True).select_option("vendor_change_unexplained")
    page.get_by_role("button", name="Filter").click()
    expect(rows(page)).to_have_count(2)
    expect(summary).to_contain_text("2 findings matching")

    page.get_by_role("link", name="At stake").click()
    expect(page.get_by_role("table", name=re.compile("Findings"))).to_have_accessible_name(
        re.compile("by amount"))
    expect(rows(page).nth(0)).to_contain_text("88.00 EUR")
    expect(rows(page).nth(0)).to_contain_text("Fabrikam Logistiek")
    expect(rows(page).nth(0)).to_contain_text("30")  # days 2026-10-02 to 2026-10-31
    expect(rows(page).nth(1)).to_contain_text("12.50 EUR")
    page.screenshot(path=str(screenshot_path("discrepancies")), full_page=True)

    for row in range(2):
        rows(page).nth(row).get_by_role("checkbox").check()
    page.get_by_label("Action", exact=True).select_option("resolve")
    page.get_by_label("Note", exact=True).fill("customer confirmed by phone, ticket INC-77")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("2 findings resolved")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).nth(0)).to_contain_text("No discrepancies.")
    expect(page).to_have_url(re.compile(r"kind=vendor_change_unexplained.*sort=amount"))

    page.get_by_label("Status", exact=True).select_option("resolved")
    page.get_by_role("button", name="Filter").click()
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(0)).to_contain_text("dana: customer confirmed by phone, ticket INC-77")
