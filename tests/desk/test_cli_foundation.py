"""The real `cspbill` console script: version, init twice, one-line config errors, honest 'not available yet'."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from desk.cli import COMMAND_MODULES, command_named
from tests.cli import run_cli
from tests.conftest import ROOT, demo_config_data
from tests.identity import people_env

CLI = str(Path(sys.executable).with_name("cspbill"))


def run(*args: str, cwd: Path, process: bool = True) -> subprocess.CompletedProcess[str]:
    """``cspbill ARGS`` in ``cwd`` through the real console script or, without ``process``, in this process
    (``tests.cli``: for tests of what a command does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")} | people_env(cwd / "config.yaml")
    if not process:
        return run_cli(args, env=env, cwd=cwd)
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_version() -> None:
    result = run("--version", cwd=ROOT)
    assert result.returncode == 0 and result.stdout.startswith("cspbill ")


def test_init_creates_the_sqlite_ledger_and_is_idempotent(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    first = run("init", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "tenants changed: 2, users changed: 5" in first.stdout
    assert (tmp_path / "var" / "cspbill.db").exists()
    second = run("--config", str(tmp_path / "config.yaml"), "init", cwd=ROOT)
    assert second.returncode == 0, second.stderr
    assert "tenants changed: 0, users changed: 0" in second.stdout


def test_bad_config_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    data = demo_config_data()
    data["tenants"][1]["invoice_numbers"]["last"] = 5
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data))
    result = run("init", cwd=tmp_path)
    assert result.returncode == 3  # desk.exit_codes CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "tenants[1].invoice_numbers: last must not be below first" in lines[0]
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(("argv", "command"), [
    (["prices", "list"], "prices"),
    (["--config", "x.yaml", "-v", "batch", "build"], "batch"),
    (["-c", "init", "sync"], "sync"),  # "init" is the value of -c here, not a command
    (["--config=x.yaml", "rate", "case.json"], "rate"),
    (["--version"], None),
    ([], None),
])
def test_the_console_script_loads_only_the_command_asked_for(argv: list[str], command: str | None) -> None:
    assert command_named(argv) == command


def test_every_command_is_listed_in_the_overall_help() -> None:
    listed = run("--help", cwd=ROOT).stdout
    assert all(f" {name} " in listed for name in COMMAND_MODULES)


def test_log_json_writes_one_object_per_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    plain = run("--verbose", "init", cwd=tmp_path)
    assert plain.returncode == 0 and " INFO alembic.runtime.migration " in plain.stderr
    logged = run("--verbose", "--log-json", "--config", str(tmp_path / "config.yaml"), "init", cwd=ROOT)
    assert logged.returncode == 0, logged.stderr
    records = [json.loads(line) for line in logged.stderr.splitlines()]
    assert records and {"time", "level", "logger", "message"} <= set(records[0])
    assert any(record["logger"] == "alembic.runtime.migration" for record in records)
