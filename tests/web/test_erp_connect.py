"""The desk's `/erp/connect/{tenant}`: a finance person is sent to Exact's consent page and back to the callback,
which connects only with the ``state`` this browser was given (the sandbox's contract tests cite the sources)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from config import Settings
from config.loader import parse_settings
from connectors.token_store import TokenStore
from sandbox import exact_online as exact_sandbox
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.operations import initialise
from tests.conftest import demo_config_data, sqlite_only
from tests.web.conftest import signed_in

pytestmark = sqlite_only  # pages over the services: both databases are covered below them

CALLBACK = "http://testserver/erp/connect/nl-bv/callback"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def exact(tls: TlsFiles) -> Iterator[SandboxServer]:
    server = SandboxServer(exact_sandbox.build(Clock(), redirect_uris=(CALLBACK,)), tls=tls).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nl(settings: Settings, exact: SandboxServer, tls: TlsFiles, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_ID", exact_sandbox.CREDENTIALS["client_id"])
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_SECRET", exact_sandbox.CREDENTIALS["client_secret"])
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    nl_config = next(t for t in data["tenants"] if t["code"] == "nl-bv")
    nl_config["erp"] = {"kind": "exact_online", "base_url": exact.url, "client_id_env": "CSPBILL_EXACT_CLIENT_ID",
                        "client_secret_env": "CSPBILL_EXACT_CLIENT_SECRET", "token_store": "var/exact-tokens.json",
                        "ca_bundle": str(tls.ca_cert), "redirect_uri": CALLBACK}
    configured = parse_settings(data, tmp_path / "config.yaml")
    initialise(configured)
    return configured


def consent(url: str, tls: TlsFiles) -> str:
    page = requests.get(url, verify=str(tls.ca_cert), timeout=10)
    form = {name: unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
    answer = requests.post(urlsplit(url)._replace(query="").geturl(), data=form, verify=str(tls.ca_cert), timeout=10,
                           allow_redirects=False)
    return answer.headers["Location"]


def test_finance_connects_exact_online_from_the_desk(nl: Settings, tls: TlsFiles) -> None:
    client = signed_in(nl, "finn")
    assert 'href="/erp/connect/nl-bv"' in client.get("/operations").text
    started = client.get("/erp/connect/nl-bv")
    assert started.status_code == 303 and "/api/oauth2/auth?" in started.headers["location"]
    landed = consent(started.headers["location"], tls)
    assert landed.startswith(CALLBACK)
    back = client.get(landed.removeprefix("http://testserver"))
    assert back.status_code == 303
    assert "Exact Online connected for nl-bv" in client.get("/operations").text
    assert TokenStore(nl.base_dir / "var" / "exact-tokens.json").read() is not None


def test_a_callback_with_another_browsers_state_connects_nothing(nl: Settings, tls: TlsFiles) -> None:
    victim, attacker = signed_in(nl, "finn"), signed_in(nl, "anna")
    landed = consent(attacker.get("/erp/connect/nl-bv").headers["location"], tls)
    victim.get(landed.removeprefix("http://testserver"))
    assert "does not belong to a connection started in this browser" in victim.get("/operations").text
    assert TokenStore(nl.base_dir / "var" / "exact-tokens.json").read() is None


def test_the_desk_role_may_not_connect(nl: Settings) -> None:
    assert signed_in(nl, "dana").get("/erp/connect/nl-bv").status_code == 403
