"""Sign-in with Microsoft on the web desk: msal's code flow against the Entra sandbox, the ID token's checks and the
mapping onto configured users (TestClient; the browser test is tests/web/test_browser_entra.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient

from config import Settings
from desk.web.app import create_app
from services.clock import FixedClock
from services.operations import initialise
from tests.conftest import sqlite_only
from tests.web.entra import EntraSandbox, entra_config, entra_sandbox
from tests.web.seed import NOW

# pages over the services: both databases are covered below them
pytestmark = [pytest.mark.usefixtures("desk_secret"), sqlite_only]
DESK = "http://localhost"  # a loopback redirect URI: Entra (and the sandbox) accept it on any port


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[EntraSandbox]:
    with entra_sandbox(tmp_path) as running:
        yield running


def microsoft_sign_in(client: TestClient, sandbox: EntraSandbox, account: str, next_page: str = "/"):
    """Click "Sign in with Microsoft", pick ``account`` on the sandbox's page, follow the redirect back."""
    start = client.get(f"/login/entra?next={next_page}")
    assert start.status_code == 303, start.text
    auth_uri = start.headers["location"]
    form = {k: v[0] for k, v in parse_qs(urlsplit(auth_uri).query).items()} | {"username": account}
    back = requests.post(auth_uri.split("?")[0], data=form, verify=str(sandbox.tls.ca_cert), allow_redirects=False,
                         timeout=10)
    location = urlsplit(back.headers["Location"])
    return client.get(f"{location.path}?{location.query}")


def desk(settings: Settings) -> TestClient:
    initialise(settings)
    return TestClient(create_app(settings, FixedClock(NOW)), follow_redirects=False, base_url=DESK)


def test_a_mapped_microsoft_account_lands_on_the_desk_as_its_person(sandbox: EntraSandbox,
                                                                    db_url: str, tmp_path: Path) -> None:
    client = desk(entra_config(sandbox, db_url, tmp_path))
    assert "Sign in with Microsoft" in client.get("/login").text
    landed = microsoft_sign_in(client, sandbox, "ANNA@wolkwerk-demo.onmicrosoft.com", "/operations")
    assert landed.status_code == 303 and landed.headers["location"] == "/operations"
    assert "Signed in as <strong>anna</strong>" in client.get("/operations").text


def test_an_unmapped_account_gets_one_clear_refusal(sandbox: EntraSandbox, db_url: str,
                                                    tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = desk(entra_config(sandbox, db_url, tmp_path))
    refused = microsoft_sign_in(client, sandbox, "erik@wolkwerk-demo.onmicrosoft.com")
    assert refused.status_code == 403
    assert "erik@wolkwerk-demo.onmicrosoft.com is not a user of this desk" in refused.text
    assert "reason=unmapped_entra_account" in caplog.text and "id_token" not in caplog.text
    assert client.get("/").status_code == 303


def test_a_token_for_another_directory_is_refused(sandbox: EntraSandbox, db_url: str,
                                                  tmp_path: Path) -> None:
    settings = entra_config(sandbox, db_url, tmp_path)
    other = settings.model_copy(update={"auth": settings.auth.model_copy(update={
        "entra": settings.auth.entra.model_copy(update={"tenant_id": "11111111-2222-4333-8444-555555555555"})})})
    refused = microsoft_sign_in(desk(other), sandbox, "anna@wolkwerk-demo.onmicrosoft.com")
    assert refused.status_code == 403 and "another directory or application" in refused.text


def test_a_callback_this_browser_did_not_start_is_refused(sandbox: EntraSandbox, db_url: str,
                                                          tmp_path: Path) -> None:
    client = desk(entra_config(sandbox, db_url, tmp_path))
    assert client.get("/login/entra/callback?code=x&state=y").status_code == 400
    client.get("/login/entra")
    forged = client.get("/login/entra/callback?code=x&state=not-the-state")
    assert forged.status_code == 400 and "did not match this sign-in" in forged.text


def test_without_auth_entra_there_is_no_microsoft_button(settings: Settings) -> None:
    plain = settings.model_copy(update={"auth": settings.auth.model_copy(update={"entra": None})})
    client = desk(plain)
    assert "Sign in with Microsoft" not in client.get("/login").text
    assert client.get("/login/entra").status_code == 503
