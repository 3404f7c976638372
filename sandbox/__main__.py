"""``python -m sandbox [--state-dir DIR] [--seed N] [--free-ports]``: run every sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from sandbox.runner import DEFAULT_PORTS, describe, run_all, stop_all


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path("var/sandbox"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--free-ports", action="store_true", help="let the OS pick ports instead of the defaults")
    args = parser.parse_args()
    running = run_all(args.state_dir, args.seed, None if args.free_ports else DEFAULT_PORTS)
    print(describe(running, args.state_dir / "tls" / "sandbox-ca.pem"), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(running)


if __name__ == "__main__":
    main()
