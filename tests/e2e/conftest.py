"""One demo month for the whole run: `cspbill demo --once` through the real console script is the slowest thing the
suite runs (a month replayed night by night against every sandbox, the month before closed too), and two modules
check what its first run leaves behind (tests/e2e/test_demo.py its summary, then a second run on its folder;
tests/e2e/test_demo_einvoices.py the e-invoice files of its invoices).

The first module to ask runs it once, under a file lock in the folder all xdist workers share; each module then gets
its own copy of the untouched result (its config pointed at the copy), so a module that runs the demo again or writes
files changes nothing the other one reads, whichever worker it lands on.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLI = str(Path(sys.executable).with_name("cspbill"))


def demo_once(directory: Path) -> dict:
    """`cspbill demo --once` for May 2026 into ``directory``; its JSON summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    done = subprocess.run([CLI, "--config", str(ROOT / "config.yaml"), "demo", "--once", "--dir", str(directory),
                           "--month", "2026-05"], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class DemoMonth:
    directory: Path  # the demo's folder: config.yaml, cspbill.db, sandbox/ (mail, Peppol access point)
    summary: dict  # the first run's summary


def _first_run(shared: Path) -> tuple[Path, dict]:
    """The demo's folder and summary after its first run, made by whichever process asks first."""
    original, summary = shared / "demo-month" / "demo", shared / "demo-month" / "summary.json"
    with open(shared / "demo-month.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes: a waiting worker then finds the result
        if not summary.exists():
            summary.parent.mkdir(exist_ok=True)
            summary.write_text(json.dumps(demo_once(original)), encoding="utf-8")
    return original, json.loads(summary.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_month(tmp_path_factory: pytest.TempPathFactory) -> DemoMonth:
    base = tmp_path_factory.getbasetemp()
    original, summary = _first_run(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)
    directory = tmp_path_factory.mktemp("demo-copy") / "demo"
    shutil.copytree(original, directory)
    config = directory / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(str(original.resolve()), str(directory.resolve())),
                      encoding="utf-8")
    return DemoMonth(directory, summary)
