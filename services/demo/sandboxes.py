"""Run the vendor sandboxes for people (``cspbill sandbox``) and for the demo: a thin doorway to ``sandbox.runner``.

Why here: ``desk`` may import only ``services`` and ``config``; the sandboxes are started the same way everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sandbox.runner import DEFAULT_PORTS, RunningSandbox, describe, run_all, stop_all

__all__ = ["RunningSandbox", "run_all", "serve_forever", "start", "stop_all"]


def start(state_dir: Path, seed: int = 1, fixed_ports: bool = True) -> list[RunningSandbox]:
    """Start every sandbox; on the ports config.yaml expects unless ``fixed_ports`` is off (then free ports)."""
    return run_all(state_dir, seed, DEFAULT_PORTS if fixed_ports else None)


def serve_forever(
    state_dir: Path, seed: int, fixed_ports: bool, announce: Callable[[str], None], stop: threading.Event | None = None
) -> None:
    """Start the sandboxes, announce their URLs and credentials, and keep them up until ``stop`` is set."""
    running = start(state_dir, seed, fixed_ports)
    try:
        announce(describe(running, state_dir / "tls" / "sandbox-ca.pem"))
        (stop or threading.Event()).wait()
    finally:
        stop_all(running)
