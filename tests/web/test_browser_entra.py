"""Signing in with Microsoft in a real browser, and sessions that end for good (Playwright + Debian's Chromium).

The desk runs on a free 127.0.0.1 port (a loopback redirect URI the Entra sandbox accepts on any port, as Entra does)
with ``auth.entra`` pointed at the Entra sandbox over HTTPS (its own CA, which the browser context is told to
accept); the session cookie of one browser is copied into another to replay it after logout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from desk.web.app import create_app
from sandbox.entra_signin import DESK_APP
from services.clock import FixedClock
from tests.web.entra import SECRET_ENV, entra_config, entra_sandbox
from tests.web.live import CHROMIUM_ARGS, chromium_path, screenshot_path, serve
from tests.web.seed import NOW, seed_month

pytestmark = pytest.mark.browser


@dataclass
class Desk:
    url: str


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("web-entra")
    with pytest.MonkeyPatch.context() as env, entra_sandbox(folder) as sandbox:
        env.setenv(SECRET_ENV, DESK_APP["client_secret"])
        env.setenv("CSPBILL_SESSION_SECRET", "web-entra-test-secret")
        settings = entra_config(sandbox, f"sqlite:///{folder / 'ledger.db'}", folder)
        seed_month(settings)
        with serve(create_app(settings, FixedClock(NOW))) as url:
            yield Desk(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def context(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)


def microsoft(page: Page, desk: Desk, account: str) -> None:
    page.goto(f"{desk.url}/login")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    expect(page.get_by_role("heading", name="Sign in to your account (Entra sandbox)")).to_be_visible()
    page.get_by_label(account).check()
    page.get_by_role("button", name="Sign in").click()


def password(page: Page, desk: Desk, username: str) -> None:
    page.goto(f"{desk.url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(f"demo-{username}")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_signing_in_through_entra_lands_on_the_desk_as_the_mapped_person(browser: Browser, desk: Desk) -> None:
    with context(browser) as ctx:
        page = ctx.new_page()
        microsoft(page, desk, "Anna Bakker (anna@wolkwerk-demo.onmicrosoft.com)")
        expect(page.get_by_text("Signed in as anna")).to_be_visible()
        assert page.url == f"{desk.url}/"
        page.screenshot(path=str(screenshot_path("entra-signed-in")), full_page=True)


def test_a_cookie_copied_before_logout_is_rejected_after_it(browser: Browser, desk: Desk) -> None:
    with context(browser) as first, context(browser) as second:
        page = first.new_page()
        microsoft(page, desk, "Finn Jansen (finn@wolkwerk-demo.onmicrosoft.com)")
        expect(page.get_by_text("Signed in as finn")).to_be_visible()
        copied = [c for c in first.cookies() if c["name"] == "cspbill_session"]
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        second.add_cookies(copied)
        replay = second.new_page()
        replay.goto(f"{desk.url}/batches")
        assert replay.url.startswith(f"{desk.url}/login")


def test_an_administrator_revoking_a_session_signs_that_browser_out(browser: Browser, desk: Desk) -> None:
    with context(browser) as anna_ctx, context(browser) as ada_ctx:
        anna = anna_ctx.new_page()
        password(anna, desk, "anna")
        ada = ada_ctx.new_page()
        password(ada, desk, "ada")
        ada.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
        expect(ada.get_by_role("heading", name="Users and sessions")).to_be_visible()
        ada.screenshot(path=str(screenshot_path("admin-users")), full_page=True)
        ada.get_by_role("button", name="Revoke all sessions of anna").click()
        expect(ada.get_by_text("session(s) of anna revoked")).to_be_visible()
        anna.goto(f"{desk.url}/batches")
        assert anna.url.startswith(f"{desk.url}/login")


def test_pages_render_under_the_content_security_policy(browser: Browser, desk: Desk) -> None:
    with context(browser) as ctx:
        page = ctx.new_page()
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        password(page, desk, "finn")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Batches").click()
        page.get_by_role("link", name="nl-bv 2026-10").click()
        expect(page.locator('figure.chart svg path[aria-roledescription="bar"]')).to_have_count(2)
        assert page.evaluate("getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
        assert violations == []
