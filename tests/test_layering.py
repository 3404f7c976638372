"""scheduler.py, a top-level module import-linter cannot check, imports only services and config (DESIGN §2)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

OURS = {"config", "connectors", "rating", "ledger", "services", "erp_export", "delivery_channels", "desk", "sandbox"}
ALLOWED = {"services", "config"}


def _our_imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


def test_scheduler_imports_only_services_and_config() -> None:
    assert _our_imports(ROOT / "scheduler.py") <= ALLOWED
