"""Sign-in, CSRF, roles and tenant isolation of the web desk, on SQLite and PostgreSQL (TestClient, real services)."""

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


def test_pages_need_a_signed_in_user(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    response = client.get(f"/batches/{seeded.nl_batch}?offset=0")
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/batches/{seeded.nl_batch}%3Foffset%3D0"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "finn", "password": "demo-anna", "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    unknown = client.post("/login", data={"username": "mallory", "password": "x", "csrf_token": token})
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.text
    assert client.get("/batches").status_code == 303


def test_session_cookie_is_signed_httponly_and_samesite_lax(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    cookie = client.get("/login").headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()


def test_secure_cookies_when_configured(settings: Settings, tmp_path) -> None:
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["web"]["secure_cookies"] = True
    client = TestClient(create_app(parse_settings(data, tmp_path / "config.yaml")), base_url="https://testserver")
    assert "secure" in client.get("/login").headers["set-cookie"].lower()


def test_the_open_redirect_after_sign_in_is_closed(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "finn", "password": "demo-finn", "csrf_token": token,
                                           "next": "//evil.example/"})
    assert response.headers["location"] == "/"


FORMS = ["/login", "/logout", "/batches/{nl_batch}/approve", "/batches/{nl_batch}/reject",
         "/batches/{nl_batch}/findings/0123456789/acknowledge",
         "/discrepancies/{nl_discrepancy}/resolve", "/subscriptions/{nl_subscription}/mutations",
         "/admin/users/sessions/1/revoke", "/admin/users/revoke-all"]


@pytest.mark.parametrize("path", FORMS)
def test_a_post_without_the_csrf_token_is_refused(settings: Settings, seeded: Seeded, path: str) -> None:
    client = signed_in(settings, "anna")
    url = path.format(**vars(seeded))
    response = client.post(url, data={"reason": "x", "note": "x", "kind": "increase", "effective_date": "2026-12-01"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    wrong = client.post(url, data={"csrf_token": "forged", "reason": "x"})
    assert wrong.status_code == 403


def test_a_token_from_before_sign_in_is_worthless_afterwards(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    before = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "anna", "password": "demo-anna", "csrf_token": before})
    assert client.post("/logout", data={"csrf_token": before}).status_code == 403


# (user, method, path, expected status): desk users see desk pages only; finance sees its entity only.
ROLE_CASES = [
    ("dana", "GET", "/subscriptions/{nl_subscription}", 200),
    ("dana", "GET", "/subscriptions/{de_subscription}", 200),
    ("dana", "GET", "/discrepancies", 200),
    ("dana", "GET", "/batches", 403),
    ("dana", "GET", "/batches/{nl_batch}", 403),
    ("dana", "GET", "/invoices/{nl_invoice}", 403),
    ("dana", "POST", "/batches/{nl_batch}/approve", 403),
    ("finn", "GET", "/batches/{nl_batch}", 200),
    ("finn", "GET", "/batches/{de_batch}", 404),
    ("finn", "GET", "/subscriptions/{de_subscription}", 404),
    ("greta", "GET", "/invoices/{nl_invoice}", 404),
    ("greta", "GET", "/lines/{nl_line}", 404),
    ("greta", "GET", "/batches/{nl_batch}", 404),
    ("greta", "POST", "/batches/{nl_batch}/approve", 404),
    ("greta", "GET", "/invoices/{de_invoice}", 200),
    ("greta", "GET", "/batches?tenant=nl-bv", 404),
    ("ada", "GET", "/invoices/{nl_invoice}", 200),
    ("ada", "GET", "/invoices/{de_invoice}", 200),
    ("finn", "GET", "/invoices/999999", 404),
]


@pytest.mark.parametrize(("user", "method", "path", "status"), ROLE_CASES)
def test_roles_and_tenant_isolation(settings: Settings, seeded: Seeded, user: str, method: str, path: str,
                                    status: int) -> None:
    client = signed_in(settings, user)
    url = path.format(**vars(seeded))
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_of(client.get("/").text)})
    assert response.status_code == status, response.text[:500]


def test_lists_show_only_the_users_legal_entities(settings: Settings, seeded: Seeded) -> None:
    greta = signed_in(settings, "greta")
    assert "Müller Maschinenbau GmbH" in greta.get("/customers").text
    assert "Contoso" not in greta.get("/customers").text
    assert "Contoso" not in greta.get("/subscriptions?q=365").text
    assert "vendor shows 12" not in greta.get("/discrepancies").text
    assert "billed 4, vendor 5" in greta.get("/discrepancies").text
    assert "partner-center" not in greta.get("/operations").text


def test_trusted_proxy_header_signs_the_user_in(settings: Settings, seeded: Seeded, tmp_path) -> None:
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["web"]["trusted_proxy_header"] = "X-Remote-User"
    data["web"]["trusted_proxies"] = ["10.0.0.0/24"]
    app = create_app(parse_settings(data, tmp_path / "config.yaml"), FixedClock(NOW))
    client = TestClient(app, follow_redirects=False, client=("10.0.0.7", 40000))
    assert client.get(f"/batches/{seeded.nl_batch}", headers={"X-Remote-User": "finn"}).status_code == 200
    assert client.get(f"/batches/{seeded.nl_batch}", headers={"X-Remote-User": "greta"}).status_code == 404
    assert client.get(f"/batches/{seeded.nl_batch}", headers={"X-Remote-User": "mallory"}).status_code == 303
    assert client.get(f"/batches/{seeded.nl_batch}").status_code == 303


def test_without_the_header_configured_it_is_ignored(settings: Settings, seeded: Seeded) -> None:
    client = TestClient(create_app(settings), follow_redirects=False)
    assert client.get("/batches", headers={"X-Remote-User": "ada"}).status_code == 303


def test_without_a_configured_secret_each_process_makes_one_and_says_so(settings: Settings, seeded: Seeded,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("CSPBILL_SESSION_SECRET", raising=False)
    client = signed_in(settings, "finn")
    assert "CSPBILL_SESSION_SECRET is not set; using a random session secret" in caplog.text
    restarted = TestClient(create_app(settings, FixedClock(NOW)), follow_redirects=False, cookies=client.cookies)
    assert restarted.get("/batches").status_code == 303  # the old cookie's signature no longer verifies


def test_with_the_configured_secret_sessions_survive_a_restart(settings: Settings, seeded: Seeded,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CSPBILL_SESSION_SECRET", "a-long-random-secret-from-the-environment")
    client = signed_in(settings, "finn")
    restarted = TestClient(create_app(settings, FixedClock(NOW)), follow_redirects=False, cookies=client.cookies)
    assert restarted.get("/batches").status_code == 200
    assert "a-long-random-secret" not in caplog.text


def test_unreadable_ids_and_unknown_paths_get_pages_not_tracebacks(settings: Settings, seeded: Seeded) -> None:
    finn = signed_in(settings, "finn")
    bad = finn.get("/invoices/abc")
    assert bad.status_code == 400 and "invoice_id: " in bad.text and "<h1>Cannot read the request</h1>" in bad.text
    unknown = finn.get("/no-such-page")
    assert unknown.status_code == 404 and "/no-such-page: no such page" in unknown.text
