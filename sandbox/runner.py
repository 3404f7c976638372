"""Start every vendor sandbox on 127.0.0.1 over TLS, sharing one clock, and say where they are.

Why one runner: the demo, the end-to-end tests and ``cspbill sandbox`` need the same set of servers, on one sandbox
clock (tokens, seat changes and usage days must agree across vendors) and one throwaway CA. A sandbox module joins by
being listed in ``SANDBOX_MODULES``; it exposes ``build(clock, seed=1[, state_dir=...]) -> SandboxApp``, ``PREFIX``
and ``CREDENTIALS``.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files

SANDBOX_MODULES: tuple[str, ...] = (
    "sandbox.entra",
    "sandbox.partner_center",
    "sandbox.cost_management",
    "sandbox.storage_account",
    "sandbox.pax8",
    "sandbox.ingram",
    "sandbox.bc_soap",
    "sandbox.bc_rest",
    "sandbox.exact_online",
    "sandbox.ecb",
    "sandbox.peppol_ap",
    "sandbox.vies",
)
# The ports the shipped config.yaml points at; programmatic callers usually pass none and get free ports.
DEFAULT_PORTS: dict[str, int] = {
    "sandbox.entra": 8441,
    "sandbox.partner_center": 8442,
    "sandbox.cost_management": 8443,
    "sandbox.pax8": 8444,
    "sandbox.ingram": 8445,
    "sandbox.bc_soap": 8446,
    "sandbox.bc_rest": 8447,
    "sandbox.exact_online": 8448,
    "sandbox.ecb": 8449,
    "sandbox.storage_account": 8450,
    "sandbox.peppol_ap": 8451,
    "sandbox.vies": 8458,
}


@dataclass
class RunningSandbox:
    """One started sandbox: its base URL (with the module's prefix), credentials and server handle."""

    name: str
    module: str
    url: str
    credentials: dict[str, str]
    server: SandboxServer = field(repr=False)

    def stop(self) -> None:
        self.server.stop()


def _build(module: Any, clock: Clock, seed: int, state_dir: Path, options: Mapping[str, Any]) -> Any:
    """Call ``module.build`` with the caller's options for it, handing a state directory to the sandboxes that keep
    files."""
    if "state_dir" in inspect.signature(module.build).parameters:
        options = {**options, "state_dir": state_dir / module.__name__.rsplit(".", 1)[-1]}
    return module.build(clock, seed=seed, **options)


def run_all(
    state_dir: Path,
    seed: int = 1,
    ports: Mapping[str, int] | None = None,
    *,
    clock: Clock | None = None,
    modules: tuple[str, ...] = SANDBOX_MODULES,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[RunningSandbox]:
    """Start ``modules`` over TLS (CA under ``state_dir/tls``); ports by module name, free ports when not given;
    ``options`` by module name are passed to that module's ``build`` (e.g. relaxed quotas for a replayed month).

    Writes ``state_dir/sandboxes.json`` (URLs, CA bundle, credentials) for tools that start later. On a failure to
    start any of them, the ones already started are stopped again.
    """
    state_dir = Path(state_dir)
    tls: TlsFiles = make_tls_files(state_dir / "tls")
    clock = clock or Clock()
    running: list[RunningSandbox] = []
    try:
        for name in modules:
            module = importlib.import_module(name)
            prefix = getattr(module, "PREFIX", "")
            app = _build(module, clock, seed, state_dir, (options or {}).get(name, {}))
            server = SandboxServer(app, port=(ports or {}).get(name, 0), tls=tls, prefix=prefix).start()
            running.append(
                RunningSandbox(
                    name.rsplit(".", 1)[-1],
                    name,
                    f"{server.url}{prefix}",
                    dict(getattr(module, "CREDENTIALS", {})),
                    server,
                )
            )
    except BaseException:
        stop_all(running)
        raise
    describe = {
        "ca_bundle": str(tls.ca_cert),
        "seed": seed,
        "sandboxes": {s.name: {"url": s.url, "credentials": s.credentials} for s in running},
    }
    (state_dir / "sandboxes.json").write_text(json.dumps(describe, indent=2), encoding="utf-8")
    return running


def stop_all(running: list[RunningSandbox]) -> None:
    for sandbox in reversed(running):
        sandbox.stop()


def describe(running: list[RunningSandbox], ca_bundle: Path) -> str:
    """Human-readable list of base URLs and credentials (sandbox secrets only: they are public demo values)."""
    lines = [f"CA bundle: {ca_bundle}"]
    for sandbox in running:
        lines.append(f"{sandbox.name:<18} {sandbox.url}")
        lines += [f"{'':<18}   {key} = {value}" for key, value in sandbox.credentials.items()]
    return "\n".join(lines)
