"""What every benchmark prints: one ``BENCH name=... items=... seconds=... peak_mb=...`` line per measurement.

Benchmarks measure; they never assert. ``BENCH_SCALE`` (default 1) shrinks the workload for a quick check.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from config import Settings
from config.loader import parse_settings
from services.runtime import dispose_engines
from tests.conftest import demo_config_data


def scale() -> float:
    return float(os.environ.get("BENCH_SCALE", "1"))


def scaled(n: int) -> int:
    return max(1, int(n * scale()))


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def measure(name: str, items: int, **extra: object) -> Iterator[None]:
    """Time the block and print the BENCH line for it."""
    start = time.perf_counter()
    yield
    print_bench(name, items, time.perf_counter() - start, **extra)


def print_bench(name: str, items: int, seconds: float, **extra: object) -> None:
    """The BENCH line of one measurement (for figures timed otherwise, such as a p95 over requests)."""
    fields = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"BENCH name={name} items={items} seconds={seconds:.2f} peak_mb={peak_mb():.0f}"
        + (f" {fields}" if fields else ""),
        flush=True,
    )


def demo_ledger(folder: Path, url: str | None = None) -> Settings:
    """The shipped demo config pointed at a new SQLite ledger in ``folder``, or at the database ``url`` (not
    initialised yet)."""
    data = demo_config_data()
    data["database"] = {"url": url or f"sqlite:///{folder / 'ledger.db'}", "url_env": None}
    return parse_settings(data, folder / "config.yaml")


def in_scratch_folder(run: Callable[[Path], None]) -> None:
    """Run ``run`` in a temporary folder that is removed afterwards, the ledger's engines disposed first."""
    with tempfile.TemporaryDirectory(prefix="cspbill-bench-") as folder:
        try:
            run(Path(folder))
        finally:
            dispose_engines()
