"""What a command loads when it starts: the libraries only rating, the usage stores, PDFs and the distributed build
need (pandas, pyarrow, duckdb, weasyprint, distributed) stay out of every command that does not do that work, and
the vendor SDKs (msal, zeep, the Azure SDKs) load when a connector builds its client, not when a command reaches a
service that holds one (about 0.7 s of every desk command's start). Only the ERP export and the delivery, whose
SOAP exporter works with zeep throughout, load zeep.

Why a test: each of them costs a tenth to a third of a second at every start of `cspbill`, the nightly sync and the
service desk's commands alike, and one module-level import anywhere on a command's path brings it back. The check
is which modules a fresh interpreter holds after loading the CLI and the command, not how long it took.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "pyarrow", "duckdb", "weasyprint", "distributed", "msal", "zeep", "azure.mgmt.costmanagement",
         "azure.storage.blob")
SOAP = frozenset({"zeep"})  # the Business Central SOAP exporter's library
ERP = frozenset({"export", "notify"})  # commands that reach the ERP exporters
# commands the service desk and the scheduler start often; their work needs none of HEAVY until it runs
LIGHT = ("init", "sync", "mutation", "customer", "reconcile", "discrepancies", "provision", "batch", "export",
         "prices", "notify", "audit", "jobs", "serve")


def loaded(command: str) -> list[str]:
    code = (f"import json, sys; import desk.cli, desk.commands.{command}; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("command", LIGHT)
def test_a_command_starts_without_the_heavy_libraries(command: str) -> None:
    assert set(loaded(command)) == (SOAP if command in ERP else set())
