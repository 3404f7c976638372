"""`cspbill sync` of an Azure source in ``mode: exports`` through the real console script, against the Entra, ARM
and storage-account sandboxes: the nightly read of large scopes from Cost Management exports.

Switching the same source to ``mode: query`` and syncing again changes no stored usage row: both modes give the same
rows (the connector test compares the records field by field).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import text

from ledger.db import make_engine
from sandbox import entra, storage_account
from sandbox.core import Clock
from sandbox.runner import RunningSandbox, run_all, stop_all
from sandbox.scenario_microsoft import scenario
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import people_env

CSPBILL = str(Path(sys.executable).with_name("cspbill"))
NOW = "2026-05-03T00:30:00Z"  # 00:30 UTC: the night's export runs (00:00, ten minutes) have finished
SEED = 3
RELAXED = {"sandbox.cost_management": {"qpu_buckets": (("QueriesPer10Sec", 1000, 1.0),),
                                       "entity_buckets": (("QueriesPerMin", 1000, 1.0),)}}


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    state = tmp_path_factory.mktemp("sandboxes")
    clock = Clock(dt.datetime.fromisoformat(NOW.replace("Z", "+00:00")))
    running: list[RunningSandbox] = run_all(state, SEED, clock=clock, options=RELAXED, modules=(
        "sandbox.entra", "sandbox.cost_management", "sandbox.storage_account"))
    try:
        yield state, {s.name: s.url for s in running}
    finally:
        stop_all(running)


def write_config(tmp_path: Path, state: Path, urls: dict[str, str], mode: str) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    (source,) = [s for s in data["sources"] if s["kind"] == "azure_costs"]
    source.update(base_url=urls["cost_management"], authority_url=f"{urls['entra']}/{entra.CREDENTIALS['tenant_id']}",
                  account_id=scenario(SEED, dt.date(2026, 5, 1)).billing_account_id,
                  ca_bundle=str(state / "tls" / "sandbox-ca.pem"), mode=mode)
    data["sources"] = [source]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def cli(config: Path, urls: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSPBILL_")}
    container = f"{urls['storage_account']}/{storage_account.ACCOUNT}/{storage_account.CREDENTIALS['container']}"
    env |= {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": NOW, **people_env(config),
            "CSPBILL_ARM_CLIENT_ID": entra.CREDENTIALS["client_id"],
            "CSPBILL_ARM_CLIENT_SECRET": entra.CREDENTIALS["client_secret"],
            "CSPBILL_ARM_EXPORTS_SAS_URL": f"{container}?{storage_account.SAS_TOKEN}"}
    return run_cli(args, env=env)


def test_sync_reads_the_exports_and_query_mode_agrees(tmp_path: Path, sandboxes) -> None:
    state, urls = sandboxes
    config = write_config(tmp_path, state, urls, "exports")
    assert cli(config, urls, "init").returncode == 0
    exported = cli(config, urls, "sync", "--source", "azure-costs", "--json")
    assert exported.returncode == 0, exported.stderr
    (run,) = json.loads(exported.stdout)["runs"]
    assert run["status"] == "succeeded"
    assert run["counts"]["usage_inserted"] > 0 and run["counts"]["errors"] == 0

    write_config(tmp_path, state, urls, "query")
    queried = cli(config, urls, "sync", "--source", "azure-costs", "--json")
    assert queried.returncode == 0, queried.stderr
    (again,) = json.loads(queried.stdout)["runs"]
    assert again["status"] == "succeeded"
    assert {k: again["counts"][k] for k in ("usage_inserted", "usage_updated", "usage_removed")} == {
        "usage_inserted": 0, "usage_updated": 0, "usage_removed": 0}


def test_exports_mode_without_its_settings_is_refused(tmp_path: Path, sandboxes) -> None:
    state, urls = sandboxes
    config = write_config(tmp_path, state, urls, "exports")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    del data["sources"][0]["export_name"]
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = cli(config, urls, "sync", "--source", "azure-costs")
    assert done.returncode != 0
    assert "sources" in done.stderr and "export_name and storage_sas_url_env" in done.stderr


def test_a_refused_file_removes_nothing_stored(tmp_path: Path, sandboxes) -> None:
    """A partition that breaks the documented columns is refused with its customer's month (the run is ``partial``,
    naming the blob); the usage already stored for that month stays, because this read did not see all of it.
    Nothing lost."""
    state, urls = sandboxes
    config = write_config(tmp_path, state, urls, "exports")
    assert cli(config, urls, "init").returncode == 0
    first = cli(config, urls, "sync", "--source", "azure-costs", "--json")
    assert first.returncode == 0, first.stderr
    stored = json.loads(first.stdout)["runs"][0]["counts"]["usage_inserted"]
    container = storage_account.CREDENTIALS["container"]
    faults = f"{urls['storage_account']}/__admin/faults"
    ca = str(state / "tls" / "sandbox-ca.pem")
    requests.post(faults, json={"route": rf"GET /{storage_account.ACCOUNT}/{container}/.*/part_0_0001\.(csv|parquet)",
                                "kind": "drop_column", "times": -1, "body": {"column": "quantity"}},
                  verify=ca, timeout=10).raise_for_status()
    try:
        broken = cli(config, urls, "sync", "--source", "azure-costs", "--json")
    finally:
        requests.delete(faults, verify=ca, timeout=10).raise_for_status()
    (run,) = json.loads(broken.stdout)["runs"]
    assert run["status"] == "partial" and run["counts"]["errors"] > 0
    assert any("quantity" in error and "part_0_0001" in error for error in run["errors"])
    assert run["counts"]["usage_removed"] == 0
    with make_engine(f"sqlite:///{tmp_path / 'ledger.db'}").connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM usage_rows")).scalar() == stored
