"""The controls through the real console script: people sign in before the CLI acts for them, approval needs a
second person with a live session, a service account's token cannot approve, and a production config refuses a
moved clock."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.loader import load_config
from tests.cli import run_cli
from tests.conftest import demo_config_data

CSPBILL = str(Path(sys.executable).with_name("cspbill"))
NOW = "2026-05-02T07:00:00Z"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def cli(config: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("CSPBILL_")}
    base |= {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": NOW, "XDG_CONFIG_HOME": str(config.parent / "home")}
    return run_cli(args, env=base | env, input=stdin)


def login(config: Path, username: str) -> None:
    done = cli(config, "login", username, "--password-stdin", stdin=f"demo-{username}\n")
    assert done.returncode == 0 and f"signed in as {username}" in done.stdout, done.stderr


def test_approval_needs_a_second_signed_in_person_with_a_live_session(config: Path) -> None:
    assert cli(config, "init").returncode == 0
    for verb in ("build", "approve"):  # no credentials at all
        nobody = cli(config, "batch", verb, "--tenant", "nl-bv", "--month", "2026-04")
        assert nobody.returncode == 1 and "not signed in here: run `cspbill login`" in nobody.stderr
    wrong = cli(config, "login", "finn", "--password-stdin", stdin="guess\n")
    assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr and "guess" not in wrong.stderr

    login(config, "finn")
    mode = stat.S_IMODE(os.stat(config.parent / "home" / "cspbill" / "credentials.json").st_mode)
    assert mode == 0o600
    assert cli(config, "batch", "build", "--tenant", "nl-bv", "--month", "2026-04").returncode == 0
    finance_only = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04")
    assert finance_only.returncode == 1 and "lacks role 'approver'" in finance_only.stderr
    named = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "anna")
    assert named.returncode == 1 and "not signed in as 'anna' here" in named.stderr  # a name proves nothing

    login(config, "anna")
    login(config, "ada")
    revoked = cli(config, "users", "revoke", "--user", "anna", "--reason", "left the company", "--as", "ada")
    assert revoked.returncode == 0 and "1 session(s) revoked" in revoked.stdout
    stale = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "anna")
    assert stale.returncode == 1 and "revoked" in stale.stderr  # a revoked token

    login(config, "anna")
    assert cli(config, "batch", "build", "--tenant", "nl-bv", "--month", "2026-05").returncode == 0
    done = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "anna")
    assert done.returncode == 0 and "approved by anna" in done.stdout, done.stderr
    own = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-05")
    assert own.returncode == 1 and "four-eyes" in own.stderr  # the builder's own credentials
    audit = cli(config, "audit", "--action", "batch.approve", "--json", "--as", "ada")
    assert '"method": "password"' in audit.stdout and '"username": "finn"' in audit.stdout

    logout = cli(config, "logout", "anna")
    assert logout.returncode == 0
    assert "anna" not in cli(config, "users", "sessions", "--json", "--as", "ada").stdout


def test_a_service_account_token_builds_but_cannot_approve(config: Path) -> None:
    assert cli(config, "init").returncode == 0
    login(config, "ada")
    issued = cli(config, "users", "token", "svc-nightly", "--label", "external cron")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    built = cli(config, "batch", "build", "--tenant", "nl-bv", "--month", "2026-04", CSPBILL_TOKEN=token)
    assert built.returncode == 0, built.stderr
    refused = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", CSPBILL_TOKEN=token)
    assert refused.returncode == 1 and "needs a signed-in person" in refused.stderr
    other = cli(config, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "anna",
                CSPBILL_TOKEN=token)
    assert other.returncode == 1 and "CSPBILL_TOKEN belongs to 'svc-nightly'" in other.stderr
    whoami = cli(config, "whoami", CSPBILL_TOKEN=token)
    assert "svc-nightly (service, api_token" in whoami.stdout


def test_a_production_config_refuses_a_moved_clock(config: Path) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["clock"] = {"allow_override": False}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert not load_config(config).clock.allow_override
    assert cli(config, "init").returncode == 0
    login(config, "dana")
    moved = cli(config, "sync")
    assert moved.returncode == 1 and "does not allow moving the clock" in moved.stderr
    plain = {key: value for key, value in os.environ.items() if not key.startswith("CSPBILL_")}
    env = plain | {"CSPBILL_CONFIG": str(config), "XDG_CONFIG_HOME": str(config.parent / "home")}
    listed = subprocess.run([CSPBILL, "mutation", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr  # without CSPBILL_NOW the same command runs
