"""The service desk in a real browser (Playwright + Chromium): a person finds the customer, opens the subscription,
is refused a 20-digit seat count next to the field (nothing stored), previews a change with its seats and monthly
amount, saves it, confirms a big jump, and withdraws a pending mutation.

One seeded ledger (SQLite) and one server for the module; the steps run in file order like a desk shift does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from ledger.models import Mutation
from services.clock import FixedClock
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import NOW, seed_month

pytestmark = pytest.mark.browser


@dataclass
class Desk:
    base_url: str
    settings: Settings


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("web-desk")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-desk-test-secret")
        seed_month(settings)
        with serve(create_app(settings, FixedClock(NOW))) as url:
            yield Desk(url, settings)


@pytest.fixture(scope="module")
def page(desk: Desk) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                                      headless=True)
        try:
            tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            tab.goto(f"{desk.base_url}/login")
            tab.get_by_label("User name").fill("dana")
            tab.get_by_label("Password").fill("demo-dana")
            tab.get_by_role("button", name="Sign in").click()
            expect(tab.get_by_text("Signed in as dana")).to_be_visible()
            yield tab
        finally:
            browser.close()


def mutations(desk: Desk) -> list[tuple[str, str | None, str]]:
    with UnitOfWork(engine_for(desk.settings)) as uow:
        return [(m.ticket_ref, m.new_quantity and str(m.new_quantity), m.status)
                for m in uow.session.scalars(select(Mutation).order_by(Mutation.id))]


def enter(page: Page, seats: str, ticket: str) -> None:
    page.get_by_label("New number of seats").fill(seats)
    page.get_by_label("Ticket").fill(ticket)
    page.get_by_role("button", name="Check and preview").click()


def test_the_desk_finds_the_customer_and_opens_the_subscription(page: Page, desk: Desk) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_label("Name or ERP reference").fill("Contoso")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Contoso Zorg B.V.").click()
    for section in ("Subscriptions", "Mutations", "Open findings", "Invoices", "Documents", "Master data"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Open discrepancies of Contoso"))).to_contain_text(
        "vendor shows 12 since 2026-10-05, no mutation")
    page.screenshot(path=str(screenshot_path("desk-customer")), full_page=True)
    page.get_by_role("table", name="Subscriptions of Contoso Zorg B.V.").get_by_role(
        "link", name="Microsoft 365 E3").click()
    expect(page.get_by_role("heading", name="Enter a mutation")).to_be_visible()


def test_a_20_digit_seat_count_is_refused_next_to_the_field_and_nothing_is_stored(page: Page, desk: Desk) -> None:
    enter(page, "12345678901234567890", "INC-100")
    seats = page.get_by_label("New number of seats")
    expect(seats).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new_quantity-error")).to_have_text(re.compile(
        r"^12,345,678,901,234,567,890 seats is more than the 10,000 this product allows\."))
    expect(seats).to_have_value("12345678901234567890")  # kept to correct it
    expect(page.locator("#preview")).to_have_count(0)
    page.screenshot(path=str(screenshot_path("desk-mutation-refused-field")), full_page=True)
    assert mutations(desk) == []


def test_the_preview_shows_the_seat_and_monthly_amount_change_then_saves(page: Page, desk: Desk) -> None:
    enter(page, "14", "INC-101")
    expect(page.locator("#preview-seats")).to_have_text("12 → 14 (+2)")
    expect(page.locator("#preview-monthly")).to_contain_text("419.52 EUR → 489.44 EUR (+69.92 EUR a month)")
    expect(page.locator("#jump")).to_have_count(0)
    assert mutations(desk) == []  # the preview stores nothing
    page.screenshot(path=str(screenshot_path("desk-mutation-preview")), full_page=True)
    page.get_by_role("button", name="Save the mutation").click()
    expect(page.get_by_text("Mutation saved: increase effective 2026-11-25 (ticket INC-101, status open).")) \
        .to_be_visible()
    assert mutations(desk) == [("INC-101", "14", "open")]


def test_a_big_jump_is_saved_only_once_confirmed(page: Page, desk: Desk) -> None:
    enter(page, "400", "INC-102")
    expect(page.locator("#jump")).to_contain_text("From 12 to 400 seats is a change of +388")
    page.get_by_role("button", name="Save the mutation").click()
    expect(page.locator("#confirm-error")).to_contain_text("tick “confirm” to save it")
    assert [m[0] for m in mutations(desk)] == ["INC-101"]
    page.get_by_label(re.compile("Confirm: I checked this change of \\+388 seats")).check()
    page.screenshot(path=str(screenshot_path("desk-mutation-confirm")), full_page=True)
    page.get_by_role("button", name="Save the mutation").click()
    expect(page.get_by_text("Mutation saved: increase effective 2026-11-25 (ticket INC-102")).to_be_visible()
    assert mutations(desk)[-1] == ("INC-102", "400", "open")


def test_a_pending_mutation_is_withdrawn(page: Page, desk: Desk) -> None:
    first = next(m for m in mutations(desk) if m[0] == "INC-101")
    assert first[2] == "open"
    with UnitOfWork(engine_for(desk.settings)) as uow:
        mutation_id = uow.session.scalar(select(Mutation.id).where(Mutation.ticket_ref == "INC-101"))
    page.get_by_role("link", name=f"Mutation {mutation_id}").click()
    expect(page.get_by_text("Still pending")).to_be_visible()
    page.get_by_role("button", name=f"Withdraw mutation {mutation_id}").click()
    expect(page.get_by_text(f"Mutation {mutation_id} withdrawn (increase effective 2026-11-25, ticket INC-101).")) \
        .to_be_visible()
    expect(page.get_by_text("Still pending")).to_have_count(0)
    page.screenshot(path=str(screenshot_path("desk-mutation-withdrawn")), full_page=True)
    assert [m for m in mutations(desk) if m[0] == "INC-101"] == [("INC-101", "14", "cancelled")]
