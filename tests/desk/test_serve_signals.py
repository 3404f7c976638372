"""`cspbill serve` stopped by SIGTERM (``systemctl stop``, ``docker stop``), as a real process.

uvicorn stops serving on SIGTERM and then raises the signal again; left to the default handler, that killed the
process before the scheduler was stopped and before anything registered at exit ran. These tests stop the installed
console script with SIGTERM and check that it ends the normal way: exit status 0, the scheduler stopped, the
ledger's connections closed (SQLite removes its write-ahead log when the last one closes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import demo_config_data, sqlite_only
from tests.ports import free_port

pytestmark = sqlite_only
CLI = str(Path(sys.executable).with_name("cspbill"))


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> tuple[subprocess.Popen[str], Path, int]:
    """`cspbill -v serve` with its scheduler on a migrated SQLite ledger (this process opens no connection to it),
    once its web desk answers."""
    data = demo_config_data()
    data["database"] = {"url": db_url, "url_env": None}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    process = subprocess.Popen([CLI, "--config", str(config), "-v", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"cspbill serve did not come up: {process.communicate()[0][-3000:]}")
        time.sleep(0.2)
    yield process, Path(db_url.removeprefix("sqlite:///")), port
    if process.poll() is None:
        process.kill()
        process.communicate()


def test_sigterm_stops_the_scheduler_and_exits_cleanly(served: tuple[subprocess.Popen[str], Path, int]) -> None:
    process, database, _ = served
    assert Path(f"{database}-wal").exists()  # the desk wrote (its session table, the job store): the log is open
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output[-3000:]
    assert "stopping on signal SIGTERM" in output
    assert "stopping the scheduler" in output
    assert not Path(f"{database}-wal").exists(), "the ledger's connections were left open at exit"
