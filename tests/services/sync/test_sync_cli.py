"""`cspbill sync` through the real console script: CSPBILL_NOW, a source that cannot log in, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import demo_config_data
from tests.identity import people_env

CSPBILL = str(Path(sys.executable).with_name("cspbill"))


def cli(tmp_path: Path, *args: str, now: str | None = "2026-05-03T00:30:00Z") -> subprocess.CompletedProcess:
    config = tmp_path / "config.yaml"
    if not config.exists():
        data = demo_config_data()
        data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSPBILL_")}
    env |= {"CSPBILL_CONFIG": str(config), **people_env(config)}
    if now is not None:
        env["CSPBILL_NOW"] = now
    return subprocess.run([CSPBILL, *args], capture_output=True, text=True, env=env, timeout=120)


def test_a_source_without_its_secret_fails_alone_and_is_reported(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    done = cli(tmp_path, "sync", "--source", "ingram", "--json")
    assert done.returncode == 3  # desk.exit_codes CONFIG: the source failed for want of its secret
    assert done.stderr.strip().splitlines()[-1] == ("sync: 0 succeeded, 0 partial, 0 skipped, 0 failed, "
                                                    "1 misconfigured (exit 3 CONFIG)")
    report = json.loads(done.stdout)
    assert report["as_of"] == "2026-05-03T00:30:00+00:00"
    (run,) = report["runs"]
    assert (run["source"], run["status"]) == ("ingram", "failed")
    assert run["error"] == ("MissingSecret: environment variable CSPBILL_INGRAM_CLIENT_ID is not set (named in "
                            "config.yaml)")
    table = cli(tmp_path, "sync", "--tenant", "de-gmbh")
    assert table.returncode == 3
    assert "sync as of 2026-05-03 00:30 UTC" in table.stdout
    assert "pax8 failed: MissingSecret: environment variable CSPBILL_PAX8_CLIENT_ID is not set" in table.stdout


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    bad_now = cli(tmp_path, "sync", now="yesterday")
    assert (bad_now.returncode, bad_now.stderr.strip()) == (1, "error: CSPBILL_NOW: not an ISO 8601 instant: "
                                                               "'yesterday'")
    naive = cli(tmp_path, "sync", now="2026-05-03T00:30:00")
    assert naive.stderr.strip() == ("error: CSPBILL_NOW: '2026-05-03T00:30:00' has no UTC offset (write e.g. "
                                    "2026-05-03T00:30:00Z)")
    unknown = cli(tmp_path, "sync", "--source", "nope")
    assert (unknown.returncode, unknown.stderr.strip()) == (3, "error: source 'nope': not in config.yaml sources")
