"""One demo month for the whole session: `cspbill demo --once` through the real console script is the slowest thing
the suite runs (a month replayed night by night against every sandbox, the month before closed too), and two modules
check what its first run leaves behind (tests/e2e/test_demo.py its summary, then a second run on the same folder;
tests/e2e/test_demo_einvoices.py the e-invoice files of its invoices). Run in one process they share it; under xdist
each worker that gets one of them runs it once, as before.
"""

from __future__ import annotations

import json
import os
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


@pytest.fixture(scope="session")
def demo_month(tmp_path_factory: pytest.TempPathFactory) -> DemoMonth:
    directory = tmp_path_factory.mktemp("demo-month") / "demo"
    return DemoMonth(directory, demo_once(directory))
