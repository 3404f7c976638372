"""The crash suite's helper: run a real `cspbill` command as a subprocess, kill it with SIGKILL at a chosen ledger
write or at a random moment, and run it again.

Why a subprocess and SIGKILL: nothing of ours gets to clean up, exactly as after ``kill -9``, an OOM kill or a power
cut; only what was committed survives (SQLite recovers its WAL on the next open). The kill at a write is done by
``hook/sitecustomize.py``, which only this helper puts on the subprocess's PYTHONPATH, so the product carries no
crash switch of its own.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CLI = str(Path(sys.executable).with_name("cspbill"))
HOOK = Path(__file__).resolve().parent / "hook"
KILLED = -signal.SIGKILL


@dataclass
class Crasher:
    """Runs ``cspbill`` with ``env`` (config, secrets, ``CSPBILL_NOW``) and kills it where asked."""

    env: dict[str, str]
    work: Path
    timeout: float = 180.0
    log: list[str] = field(default_factory=list)

    def _env(self, **extra: str) -> dict[str, str]:
        paths = [str(HOOK), *filter(None, [self.env.get("PYTHONPATH", os.environ.get("PYTHONPATH"))])]
        return {**self.env, "PYTHONPATH": os.pathsep.join(paths), **extra}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The command, uninterrupted."""
        done = subprocess.run([CLI, *args], capture_output=True, text=True, env=self._env(), timeout=self.timeout)
        self.log.append(f"run {' '.join(args)} -> {done.returncode}")
        return done

    def writes(self, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
        """The command, uninterrupted, and how many ledger write statements it ran (its kill points)."""
        counter = self.work / "writes.txt"
        counter.unlink(missing_ok=True)
        done = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=self.timeout,
                              env=self._env(CSPBILL_CRASH_COUNT=str(counter)))
        return done, int(counter.read_text(encoding="utf-8"))

    def kill_at_write(self, n: int, *args: str) -> subprocess.CompletedProcess[str]:
        """The command, SIGKILLed just before its ``n``th ledger write statement."""
        done = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=self.timeout,
                              env=self._env(CSPBILL_CRASH_AT=str(n)))
        self.log.append(f"kill at write {n}: {' '.join(args)} -> {done.returncode}")
        assert done.returncode == KILLED, f"not killed at write {n}: {done.returncode} {done.stderr[-2000:]}"
        return done

    def kill_after(self, seconds: float, *args: str) -> int:
        """The command, SIGKILLed after ``seconds`` (or left to finish if it is quicker); its return code."""
        process = subprocess.Popen([CLI, *args], env=self._env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.log.append(f"kill after {seconds:.2f}s: {' '.join(args)} -> {process.returncode}")
        return process.returncode


def kill_points(writes: int, count: int, *, skip: tuple[int, ...] = ()) -> list[int]:
    """``count`` write numbers spread evenly over ``1..writes`` (first and last included when count > 1)."""
    if writes <= 0 or count <= 0:
        return []
    if count == 1:
        return [max(1, writes // 2)]
    spread = sorted({1 + round(i * (writes - 1) / (count - 1)) for i in range(count)})
    return [n for n in spread if n not in skip]


def random_moments(seed: int, count: int, longest: float) -> list[float]:
    """Reproducible random kill moments (seconds after start) within the command's uninterrupted duration."""
    rng = random.Random(seed)
    return [round(rng.uniform(0.3, longest), 2) for _ in range(count)]


def timed(crasher: Crasher, *args: str) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """An uninterrupted, counted run and how long it took."""
    started = time.monotonic()
    done, writes = crasher.writes(*args)
    return done, writes, time.monotonic() - started
