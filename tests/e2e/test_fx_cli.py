"""`cspbill fx sync` against the ECB sandbox, then `cspbill batch build` with a USD licence: one EUR invoice for the
customer, the USD line converted, its lineage naming rate, date and source (through the real console script)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from config.loader import load_config
from sandbox import ecb
from sandbox.core import Clock, SandboxServer
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import people_env
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CSPBILL = str(Path(sys.executable).with_name("cspbill"))
NIGHT = dt.datetime(2026, 10, 2, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def ecb_server() -> Iterator[SandboxServer]:
    with SandboxServer(ecb.build(Clock(NIGHT), seed=1)) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, ecb_server: SandboxServer) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    data["fx"] = {"source": "ecb", "base_url": ecb_server.url}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(config: Path, *args: str, now: dt.datetime = NIGHT) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSPBILL_")}
    env |= {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": now.isoformat(), **people_env(config)}
    return run_cli(args, env=env)


def test_fx_sync_then_a_usd_licence_on_the_customers_eur_invoice(config: Path) -> None:
    assert cli(config, "init").returncode == 0
    done = cli(config, "fx", "sync", "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert (run["source"], run["status"], run["error"]) == ("fx:ecb", "succeeded", None)
    assert run["counts"]["rates_stored"] == run["counts"]["rates_read"] > 0
    again = json.loads(cli(config, "fx", "sync", "--json").stdout)
    assert again["counts"]["rates_stored"] == 0  # nothing stored twice

    listed = cli(config, "fx", "list", "--currency", "USD", "--from", "2026-09-25", "--to", "2026-10-01", "--json")
    rates = json.loads(listed.stdout)
    assert [r["date"] for r in rates] == ["2026-10-01", "2026-09-30", "2026-09-29", "2026-09-28",
                                          "2026-09-25"]  # no weekend
    usd_on_oct_1 = rates[0]["rate"]
    unknown = cli(config, "fx", "list", "--currency", "XAU")
    assert unknown.returncode == 1 and "fx rates of XAU: none recorded" in unknown.stderr

    settings = load_config(config)
    customer = add_customer(settings, "nl-bv", "Northwind")
    eur = add_subscription(settings, "nl-bv", customer, "sub-eur", "2026-10-01")
    snapshot(settings, eur, "2026-10-01", 2)
    usd = add_subscription(settings, "nl-bv", customer, "sub-usd", "2026-10-01", currency="USD")
    snapshot(settings, usd, "2026-10-01", 10, unit_cost="20.00", currency="USD")

    build = cli(config, "batch", "build", "--tenant", "nl-bv", "--month", "2026-10", "--json",
                now=dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC))
    assert build.returncode == 0, build.stderr
    report = json.loads(build.stdout)
    assert (report["invoices"], report["lines"], report["problems"]) == (1, 2, [])
    assert list(report["totals"]) == ["EUR"]
    line_key = f"nl-bv/{customer}/{usd}/2026-10-01..2026-10-31/charge/v1"
    explained = json.loads(cli(config, "batch", "explain", line_key, "--json").stdout)
    details = explained["lineage"]["details"]
    # billed in advance on 2026-10-01 (charge_date): the fixing of that day, out at 16:00 before the 02:30 sync
    assert details["fx"] == f"USD->EUR 1/{usd_on_oct_1} (ECB, 2026-10-01)"
    assert (details["fx_currency"], details["fx_unit_price"], details["fx_source"]) == ("USD", "23", "ECB")
    assert explained["currency"] == "EUR"
    assert explained["invoice"]["invoice_key"] == f"nl-bv/2026-10/{customer}"
