"""`cspbill erp connect --tenant nl-bv` through the real console script against the Exact Online sandbox: a person
opens the printed link, consents on Exact's page, and the command stores the first refresh token, by the loopback
listener or by the address the person pastes with ``--code``.

Contract of the authorise step (``client_id``, ``redirect_uri``, ``response_type=code``, ``state``, ``force_login``;
the code comes back with ``state`` on the redirect URI): erp.md §4.4; the sandbox's contract tests cite the sources.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from sqlalchemy import select

from config.loader import parse_settings
from connectors.token_store import TokenStore
from erp_export.exact_online import ExactOnlineExporter
from ledger.models import AuditEvent
from sandbox import exact_online as exact_sandbox
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.export import erp_target
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import people_env
from tests.ports import free_port

CLI = str(Path(sys.executable).with_name("cspbill"))
PASTED = "https://desk.example/erp/connect/nl-bv/callback"



LOOPBACK = f"http://127.0.0.1:{free_port()}/exact/callback"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def exact(tls: TlsFiles) -> Iterator[SandboxServer]:
    server = SandboxServer(exact_sandbox.build(Clock(), redirect_uris=(PASTED, LOOPBACK)), tls=tls).start()
    try:
        yield server
    finally:
        server.stop()


def configure(tmp_path: Path, exact: SandboxServer, tls: TlsFiles, redirect_uri: str) -> tuple[Path, dict[str, str]]:
    data: dict[str, Any] = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    nl = next(t for t in data["tenants"] if t["code"] == "nl-bv")
    nl["erp"] = {"kind": "exact_online", "base_url": exact.url, "client_id_env": "CSPBILL_EXACT_CLIENT_ID",
                 "client_secret_env": "CSPBILL_EXACT_CLIENT_SECRET", "token_store": "var/exact-tokens.json",
                 "ca_bundle": str(tls.ca_cert), "redirect_uri": redirect_uri}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    initialise(parse_settings(data, config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")} | people_env(config)
    env |= {"CSPBILL_EXACT_CLIENT_ID": exact_sandbox.CREDENTIALS["client_id"],
            "CSPBILL_EXACT_CLIENT_SECRET": exact_sandbox.CREDENTIALS["client_secret"]}
    return config, env


def consent(url: str, tls: TlsFiles) -> str:
    """A person on Exact's page: open the link, allow; returns where Exact sends the browser."""
    page = requests.get(url, verify=str(tls.ca_cert), timeout=10)
    form = {name: unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
    answer = requests.post(urlsplit(url)._replace(query="").geturl(), data=form, verify=str(tls.ca_cert), timeout=10,
                           allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def cli(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "--config", str(config), "erp", "connect", "--tenant", "nl-bv", *args], env=env,
                          text=True, capture_output=True, timeout=120)


def assert_connected(config: Path, env: dict[str, str], result: subprocess.CompletedProcess[str], who: str) -> None:
    assert result.returncode == 0, result.stderr
    assert "a person must connect again by" in result.stderr
    store = config.parent / "var" / "exact-tokens.json"
    assert store.stat().st_mode & 0o777 == 0o600 and TokenStore(store).read() is not None
    os.environ.update({k: v for k, v in env.items() if k.startswith("CSPBILL_EXACT_")})
    try:
        settings = parse_settings(yaml.safe_load(config.read_text("utf-8")), config)
        exporter = erp_target(settings, settings.tenant("nl-bv")).exporter
        assert isinstance(exporter, ExactOnlineExporter)
        assert exporter.find("CSP-NL-BV-NOTHING") is None  # the stored token works against the API
        with UnitOfWork(engine_for(settings)) as uow:
            [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "erp.connect")).all()
            assert (event.actor, event.entity_id) == (who, "nl-bv") and "reconnect_by" in event.after
    finally:
        for name in ("CSPBILL_EXACT_CLIENT_ID", "CSPBILL_EXACT_CLIENT_SECRET"):
            os.environ.pop(name, None)


def test_connect_with_the_address_the_person_pastes(tmp_path: Path, exact: SandboxServer, tls: TlsFiles) -> None:
    config, env = configure(tmp_path, exact, tls, PASTED)
    started = cli(config, env, "--as", "finn")
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"] and query["redirect_uri"] == [PASTED] and query["state"][0]
    landed = consent(url, tls)
    forged = cli(config, env, "--as", "finn", "--code", landed.replace(query["state"][0], "forged-state"))
    assert forged.returncode == 1 and "state" in forged.stderr
    assert_connected(config, env, cli(config, env, "--as", "finn", "--code", landed), "finn")


def test_connect_through_the_loopback_listener(tmp_path: Path, exact: SandboxServer, tls: TlsFiles) -> None:
    config, env = configure(tmp_path, exact, tls, LOOPBACK)
    process = subprocess.Popen([CLI, "--config", str(config), "erp", "connect", "--tenant", "nl-bv", "--as", "anna",
                                "--wait", "60"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    landed = consent(url, tls)
    assert landed.startswith(LOOPBACK)
    assert requests.get(landed, timeout=10).status_code == 200  # the listener is up before the link is printed
    stdout, stderr = process.communicate(timeout=120)
    assert_connected(config, env, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), "anna")


def test_a_desk_person_may_not_connect(tmp_path: Path, exact: SandboxServer, tls: TlsFiles) -> None:
    config, env = configure(tmp_path, exact, tls, PASTED)
    refused = cli(config, env, "--as", "dana")
    assert refused.returncode == 1 and "lacks role 'finance'" in refused.stderr
