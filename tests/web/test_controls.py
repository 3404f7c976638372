"""The web desk's controls (issue 15): lockout and throttling, trusted proxies, cookies, security headers, revoked
sessions and the administrators' page, through the real app and services (TestClient, SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from config import Settings
from config.loader import parse_settings
from desk.web.app import SESSION_COOKIE, create_app
from services.clock import FixedClock
from tests.conftest import demo_config_data, sqlite_only
from tests.web.conftest import csrf_of, signed_in
from tests.web.seed import NOW, Seeded

pytestmark = sqlite_only  # pages over the services: both databases are covered below them

PROXY = ("10.0.0.7", 40000)
STRANGER = ("192.0.2.50", 40000)


def proxied(settings: Settings, tmp_path, **web) -> Settings:
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["web"].update({"trusted_proxies": ["10.0.0.0/24"], **web})
    return parse_settings(data, tmp_path / "config.yaml")


def attempt(client: TestClient, username: str, password: str, headers: dict | None = None):
    token = csrf_of(client.get("/login", headers=headers).text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers)


def test_five_wrong_passwords_lock_the_name_and_the_sixth_correct_one_is_refused(settings: Settings,
                                                                                seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    for _ in range(settings.auth.lockout_after):
        assert attempt(client, "finn", "guess").status_code == 401
    locked = attempt(client, "finn", "demo-finn")
    assert locked.status_code == 401 and "is locked after 5 failed sign-ins" in locked.text
    assert "UTC" in locked.text and client.get("/batches").status_code == 303
    assert attempt(client, "anna", "demo-anna").status_code == 303  # the lock is per name


def test_a_locked_unknown_name_reads_like_a_locked_known_one(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    for name in ("finn", "nobody"):
        for _ in range(settings.auth.lockout_after):
            attempt(client, name, "guess")
    known, unknown = attempt(client, "finn", "x").text, attempt(client, "nobody", "x").text
    assert "is locked after 5 failed sign-ins" in known and "is locked after 5 failed sign-ins" in unknown


def test_the_address_throttle_uses_the_address_a_trusted_proxy_forwards(settings: Settings, seeded: Seeded,
                                                                       tmp_path) -> None:
    app = create_app(proxied(settings, tmp_path), FixedClock(NOW))
    behind_proxy = TestClient(app, follow_redirects=False, client=PROXY)
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    for n in range(settings.auth.lockout_after * 4):  # many names, one address: no name reaches its own lock
        attempt(behind_proxy, f"user{n % 4}", "guess", attacker)
    throttled = attempt(behind_proxy, "anna", "demo-anna", attacker)
    assert throttled.status_code == 401 and "Too many failed sign-ins from 203.0.113.9" in throttled.text
    assert attempt(behind_proxy, "anna", "demo-anna", {"X-Forwarded-For": "203.0.113.10"}).status_code == 303


def test_the_proxy_header_is_ignored_from_an_untrusted_address_and_honoured_from_a_trusted_one(
        settings: Settings, seeded: Seeded, tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(proxied(settings, tmp_path, trusted_proxy_header="X-Remote-User"), FixedClock(NOW))
    stranger = TestClient(app, follow_redirects=False, client=STRANGER)
    assert stranger.get("/batches", headers={"X-Remote-User": "ada"}).status_code == 303
    assert "ignored x-remote-user from 192.0.2.50" in caplog.text
    proxy = TestClient(app, follow_redirects=False, client=PROXY)
    assert proxy.get("/batches", headers={"X-Remote-User": "finn"}).status_code == 200


def test_forwarded_headers_from_an_untrusted_address_change_nothing(settings: Settings, seeded: Seeded,
                                                                   tmp_path) -> None:
    app = create_app(proxied(settings, tmp_path), FixedClock(NOW))
    stranger = TestClient(app, follow_redirects=False, client=STRANGER)
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
    assert "secure" not in stranger.get("/login", headers=forged).headers["set-cookie"].lower()
    proxy = TestClient(app, follow_redirects=False, client=PROXY)
    assert "; secure" in proxy.get("/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"].lower()


COOKIE_CASES = [  # (secure_cookies, base URL, Secure expected)
    (None, "http://testserver", False),
    (None, "https://testserver", True),
    (False, "https://testserver", False),
    (True, "http://testserver", True),
]


@pytest.mark.parametrize(("forced", "base_url", "secure"), COOKIE_CASES)
def test_cookies_are_httponly_lax_and_secure_over_https(settings: Settings, tmp_path, forced: bool | None,
                                                        base_url: str, secure: bool) -> None:
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["web"]["secure_cookies"] = forced
    data["auth"]["web_session_hours"] = 3
    client = TestClient(create_app(parse_settings(data, tmp_path / "config.yaml")), base_url=base_url)
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in cookie and "samesite=lax" in cookie
    assert ("; secure" in cookie) is secure and "max-age=10800" in cookie


@pytest.mark.parametrize("path", ["/login", "/", "/static/desk.css", "/no-such-page", "/healthz"])
def test_every_answer_carries_the_security_headers(settings: Settings, seeded: Seeded, path: str) -> None:
    response = signed_in(settings, "finn").get(path)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"]


def test_a_cookie_replayed_after_logout_is_refused(settings: Settings, seeded: Seeded) -> None:
    client = signed_in(settings, "finn")
    copied = dict(client.cookies)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    replay = TestClient(create_app(settings, FixedClock(NOW)), follow_redirects=False, cookies=copied)
    response = replay.get("/batches")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_admin_page_lists_people_and_revokes_a_session(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    assert finn.get("/admin/users").status_code == 403
    assert 'href="/admin/users"' not in finn.get("/").text
    ada = signed_in(settings, "ada")
    home = ada.get("/").text
    assert 'href="/admin/users"' in home
    page = ada.get("/admin/users").text
    assert "svc-nightly" in page and "Anna (finance approver NL)" in page and "finance, approver" in page
    session_id = int(page.split('action="/admin/users/sessions/')[1].split("/")[0])
    sessions = {s.split("/")[0] for s in page.split('action="/admin/users/sessions/')[1:]}
    assert str(session_id) in sessions
    revoke_all = ada.post("/admin/users/revoke-all", data={"username": "finn", "csrf_token": csrf_of(page)})
    assert revoke_all.status_code == 303 and "session(s) of finn revoked" in ada.get("/admin/users").text
    assert finn.get("/batches").status_code == 303  # finn's browser is signed out


def test_revoking_one_session_signs_that_browser_out(settings: Settings, seeded: Seeded) -> None:
    anna = signed_in(settings, "anna")
    other = signed_in(settings, "anna")
    ada = signed_in(settings, "ada")
    page = ada.get("/admin/users").text
    ids = sorted(int(s.split("/")[0]) for s in page.split('action="/admin/users/sessions/')[1:])
    newest_web = ids[-2]  # ada's own session is the newest; the one before it is anna's second browser
    assert ada.post(f"/admin/users/sessions/{newest_web}/revoke",
                    data={"csrf_token": csrf_of(page)}).status_code == 303
    assert other.get("/batches").status_code == 303 and anna.get("/batches").status_code == 200
