"""The outbox to Exact Online (sales entries, rotating refresh tokens) built from config by ``services.export.targets``:
exactly once under throttling, lost answers and an expired access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from config import Settings
from config.loader import parse_settings
from connectors.token_store import TokenStore
from erp_export.base import RetryPolicy
from erp_export.exact_online import ExactOnlineExporter
from sandbox import exact_online as exact_sandbox
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from services.clock import FixedClock
from services.export import ExportOutcome, erp_reference, erp_target, export_invoices
from services.operations import initialise
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.export.test_export_outbox import NOW, exports, seed_invoices

POLICY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=1.0, settle=1.5)
ENTRIES = r"/api/v1/\d+/salesentry/SalesEntries"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def exact(tls: TlsFiles) -> Iterator[tuple[Any, SandboxServer]]:
    app = exact_sandbox.build(SandboxClock(), seed=3)
    server = SandboxServer(app, tls=tls, prefix=exact_sandbox.PREFIX).start()
    try:
        yield app, server
    finally:
        server.stop()


@pytest.fixture
def nl(settings: Settings, exact: tuple[Any, SandboxServer], tls: TlsFiles, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Settings:
    """nl-bv exports to Exact Online, authorised once (the person's one-time consent) into its token store."""
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_ID", exact_sandbox.CREDENTIALS["client_id"])
    monkeypatch.setenv("CSPBILL_EXACT_CLIENT_SECRET", exact_sandbox.CREDENTIALS["client_secret"])
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    nl_config = next(t for t in data["tenants"] if t["code"] == "nl-bv")
    nl_config["erp"] = {"kind": "exact_online", "base_url": exact[1].url, "client_id_env": "CSPBILL_EXACT_CLIENT_ID",
                        "client_secret_env": "CSPBILL_EXACT_CLIENT_SECRET", "token_store": "var/exact-tokens.json",
                        "ca_bundle": str(tls.ca_cert)}
    configured = parse_settings(data, tmp_path / "config.yaml")
    initialise(configured)
    exporter = erp_target(configured, configured.tenant("nl-bv")).exporter
    assert isinstance(exporter, ExactOnlineExporter)
    exporter.authorise(exact_sandbox.CREDENTIALS["authorization_code"], exact_sandbox.CREDENTIALS["redirect_uri"])
    return configured


def entries(server: SandboxServer, tls: TlsFiles, ref: str) -> list[dict[str, Any]]:
    state = json.loads(requests.get(f"{server.url}/__admin/state", verify=str(tls.ca_cert), timeout=5).text,
                       parse_float=Decimal)
    return [e for e in state["entries"] if e.get("YourRef") == ref]


def run(settings: Settings) -> list[ExportOutcome]:
    summaries = export_invoices(settings, actor(settings, "finn"), "nl-bv", clock=FixedClock(NOW), policy=POLICY)
    return [outcome for summary in summaries for outcome in summary.outcomes]


FAULTS = {
    "none": None,
    "429 on create": (f"POST {ENTRIES}", {"kind": "status", "status": 429}),
    "create applied, answer lost": (f"POST {ENTRIES}", {"kind": "apply_then_drop"}),
    "expired access token on look-up": (f"GET {ENTRIES}", {"kind": "expire_token"}),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_each_invoice_once_in_exact(nl: Settings, exact: tuple[Any, SandboxServer], tls: TlsFiles,
                                    fault: tuple[str, dict[str, Any]] | None) -> None:
    app, server = exact
    numbers = seed_invoices(nl, count=2, rates=("21", "9"), prices=("31.20", "10.50"))
    if fault:
        app.faults.arm(fault[0], **fault[1])
    outcomes = run(nl)
    assert {o.action for o in outcomes} <= {"created", "adopted"}, outcomes
    for number in numbers:
        [entry] = entries(server, tls, erp_reference("nl-bv", number))
        assert (Decimal(str(entry["AmountFC"])), Decimal(str(entry["VATAmountFC"]))) == \
            (Decimal("811.50") + Decimal("163.80") + Decimal("2.84"), Decimal("163.80") + Decimal("2.84"))
    assert [r.status for r in exports(nl)] == ["sent", "sent"]
    assert run(nl) == []


def test_an_old_refresh_token_keeps_the_exports_queued_and_names_the_tenant(nl: Settings,
                                                                          exact: tuple[Any, SandboxServer]) -> None:
    """Exact answers 401 "Old refresh token used." (user reports: picqer/exact-php-client#300): the invoices are
    fine, the connection is not; they wait queued until a person connects again."""
    app, _ = exact
    seed_invoices(nl, count=2, rates=("21", "9"), prices=("31.20", "10.50"))
    store = TokenStore(nl.base_dir / "var" / "exact-tokens.json")
    backup = replace(store.read(), access_token=None)  # type: ignore[type-var]
    store.write(backup)
    app.clock.advance(seconds=601)
    exporter = erp_target(nl, nl.tenant("nl-bv")).exporter
    assert isinstance(exporter, ExactOnlineExporter)
    exporter.access_token()  # rotated: the backup now holds an old refresh token
    store.write(backup)
    app.clock.advance(seconds=601)
    outcomes = run(nl)
    assert {o.action for o in outcomes} == {"queued"}, outcomes
    assert all("tenant 'nl-bv'" in (o.error or "") and "cspbill erp connect --tenant nl-bv" in (o.error or "")
               for o in outcomes)
    assert {r.status for r in exports(nl)} == {"queued"}
