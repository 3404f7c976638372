"""The month-end review in Chromium (Playwright): finance opens the draft batch, sees the blocking findings beside
Approve (disabled, with the reason), acknowledges each with a reason (a blank one is refused next to its field), the
desk completes the customer, and a second person approves (four-eyes). Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config import Settings
from config.loader import parse_settings
from desk.web.app import create_app
from services.clock import FixedClock
from services.desk import update_master_data
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.batches.test_review_findings import CLOCK, MONTH, seed_april
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.test_browser_month import sign_in

pytestmark = pytest.mark.browser


@dataclass
class Review:
    base_url: str
    settings: Settings
    ids: dict[str, int]


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    folder = tmp_path_factory.mktemp("web-review")
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    settings = parse_settings(data, folder / "config.yaml")
    ids = seed_april(settings)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CSPBILL_SESSION_SECRET", "web-review-test-secret")
        with serve(create_app(settings, FixedClock(CLOCK.now()))) as url:
            yield Review(url, settings, ids)


@pytest.fixture
def browser(review: Review) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _person(browser: Browser, review: Review, username: str) -> Page:
    """A browser of its own for ``username``, signed in and on the draft batch's page."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, review, username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Batches").click()
    page.get_by_role("link", name=f"nl-bv {MONTH}").click()
    expect(page.get_by_role("heading", name=f"Batch nl-bv {MONTH}")).to_be_visible()
    return page


def test_finance_acknowledges_the_findings_and_a_second_person_approves(browser: Browser, review: Review) -> None:
    page = _person(browser, review, "finn")  # finance of nl-bv, who built the batch
    decision = page.locator("aside.decision")
    expect(decision.get_by_role("heading", name="Before approval")).to_be_visible()
    expect(page.locator("#findings-summary")).to_contain_text("4 findings: 1 to complete, 3 to acknowledge")
    expect(decision).to_contain_text("Kaal BV")  # missing street: a hard block, no form to acknowledge it
    expect(decision.get_by_role("button", name="Approve batch")).to_have_count(0)  # finn is no approver

    first = decision.locator("li.finding.blocking form").first
    first.get_by_label("Reason for acknowledging").fill("   ")
    first.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("p.field-error")).to_contain_text("give the reason")  # next to the field, nothing stored
    expect(page.locator("#findings-summary")).to_contain_text("0 acknowledged")

    reasons = iter(["margin agreed with the customer until June", "Ingram confirms the seat next week",
                    "the vendor count is a day late"])
    forms = decision.locator("form[action$='/acknowledge']")
    while forms.count():
        form = forms.first
        form.get_by_label("Reason for acknowledging").fill(next(reasons))
        form.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(page.locator("#findings-summary")).to_contain_text("1 to complete, 0 to acknowledge, 3 acknowledged")
    expect(decision).to_contain_text("by finn")
    page.screenshot(path=str(screenshot_path("batch-review-acknowledged")), full_page=True)

    page = _person(browser, review, "anna")  # the second person: finance and approver of nl-bv
    decision = page.locator("aside.decision")
    expect(decision.get_by_role("button", name="Approve batch")).to_be_disabled()  # the hard block remains
    expect(page.locator("#approve-blocked")).to_contain_text("1 finding still blocks it")
    page.screenshot(path=str(screenshot_path("batch-review-blocked")), full_page=True)
    update_master_data(review.settings, actor(review.settings, "dana"), review.ids["Kaal BV"],
                       {"street": "Dorpsstraat 2"}, CLOCK)  # the desk completes the customer
    page.reload()
    expect(page.locator("#approve-blocked")).to_have_count(0)
    page.get_by_role("button", name="Approve batch").click()
    expect(page.get_by_role("status")).to_contain_text(f"Batch nl-bv {MONTH} approved")
    expect(page.get_by_role("heading", name=f"Batch nl-bv {MONTH}")).to_contain_text("approved")
    expect(page.locator("aside.decision")).to_contain_text(re.compile("acknowledged.*by finn"))
    page.screenshot(path=str(screenshot_path("batch-review-approved")), full_page=True)
