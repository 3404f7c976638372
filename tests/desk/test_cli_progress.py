"""Progress of long commands (``desk.progress``): plain count lines on stderr when stdout is no terminal (tests, cron,
pipes), rich bars with counts when it is one (a pseudo-terminal here), and stdout left to the command's result."""

from __future__ import annotations

import os
import pty
import selectors
import shutil
import subprocess
from pathlib import Path

import pytest

from config import Settings
from desk.progress import progress_bars
from tests.conftest import ROOT, sqlite_only
from tests.desk.test_cli_foundation import CLI, run
from tests.desk.test_cli_prices import NCE
from tests.e2e.test_batch_month import config_file, cspbill, seed  # noqa: F401 - config_file is a fixture
from tests.e2e.test_payments_cli import files  # noqa: F401 - a fixture
from tests.identity import people_env

PLAIN = [
    # done steps reported -> lines printed (the first, every tenth, the last)
    (list(range(0, 4)), ["x rows: 0 of 3", "x rows: 1 of 3", "x rows: 2 of 3", "x rows: 3 of 3"]),
    (list(range(0, 101)), [f"x rows: {n} of 100" for n in range(0, 101, 10)]),
    ([0, 0, 0], ["x rows: 0 of 0"]),
]


@pytest.mark.parametrize(("steps", "lines"), PLAIN)
def test_plain_lines_without_a_terminal(capsys: pytest.CaptureFixture[str], steps: list[int],
                                        lines: list[str]) -> None:
    total = max(steps)
    with progress_bars("x") as counted:
        for done in steps:
            counted("rows", done, total)
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == lines


def test_prices_import_counts_rows_on_stderr_and_keeps_stdout(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    run("init", cwd=tmp_path, process=False)
    (tmp_path / "nce.csv").write_text(NCE)
    imported = run("prices", "import", "nce.csv", "--as", "finn", cwd=tmp_path, process=False)
    assert imported.stdout.strip() == "nce.csv: 1 microsoft row(s) imported as edition 2"
    assert "prices import nce.csv rows: 1 of 1" in imported.stderr.splitlines()


def test_a_terminal_gets_rich_bars_with_counts(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    run("init", cwd=tmp_path, process=False)
    (tmp_path / "nce.csv").write_text(NCE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(people_env(tmp_path / "config.yaml"), COLUMNS="100", TERM="xterm")
    parent, child = pty.openpty()
    process = subprocess.Popen([CLI, "prices", "import", "nce.csv", "--as", "finn"], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    output = b""
    with selectors.DefaultSelector() as waiting:  # not select(): a worker late in the suite has fds above 1024
        waiting.register(parent, selectors.EVENT_READ)
        while waiting.select(60):
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            output += chunk
    os.close(parent)
    assert process.wait(timeout=60) == 0, output
    text = output.decode("utf-8", "replace")
    assert "prices import nce.csv rows" in text and "1/1" in text and "━" in text  # a bar, with its count
    assert "x rows:" not in text and " of 1\n" not in text.replace("\r", "")  # no plain lines on a terminal
    assert "imported as edition 2" in text


@sqlite_only  # the CLI over the services: both databases are covered below it
def test_batch_build_counts_subscriptions(settings: Settings, config_file: Path) -> None:  # noqa: F811
    seed(settings)
    built = cspbill(config_file, "batch", "build", "--tenant", "nl-bv", "--month", "2026-04", "--as", "finn")
    lines = built.stderr.splitlines()
    assert "batch build nl-bv 2026-04 subscriptions: 0 of 3" in lines
    assert "batch build nl-bv 2026-04 subscriptions: 3 of 3" in lines
    assert "batch nl-bv 2026-04" in built.stdout


@sqlite_only
def test_payments_import_counts_matched_entries(files: Path, config_file: Path) -> None:  # noqa: F811
    imported = cspbill(config_file, "payments", "import", str(files / "nov.xml"), "--as", "finn")
    assert "payments import nov.xml entries: 3 of 3" in imported.stderr.splitlines()
    assert "3 new entries" in imported.stdout
