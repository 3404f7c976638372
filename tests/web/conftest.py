"""Shared pieces of the web desk tests: a seeded ledger, signed-in TestClients and the CSRF token of a page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from config import Settings
from desk.web.app import create_app
from sandbox.entra_signin import DESK_APP
from services.clock import FixedClock
from tests.web.entra import SECRET_ENV
from tests.web.seed import NOW, Seeded, seed_month

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def signed_in(settings: Settings, username: str) -> TestClient:
    """A client with a fresh session, signed in through the real form with the demo password."""
    client = TestClient(create_app(settings, FixedClock(NOW)), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": f"demo-{username}", "next": "/",
                                           "csrf_token": token})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def desk_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk app's client secret at the Entra sandbox, in the variable config.yaml's auth.entra names."""
    monkeypatch.setenv(SECRET_ENV, DESK_APP["client_secret"])


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    return seed_month(settings)
