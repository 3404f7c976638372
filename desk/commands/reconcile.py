"""`cspbill reconcile`: compare vendor snapshots, desk mutations and billed lines; list discrepancies."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("reconcile", help="Compare vendor snapshots, desk mutations and billed lines; list discrepancies.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def reconcile_command() -> None:
        raise NotAvailableYet(
            "`cspbill reconcile` is not available yet: reconciliation has not landed"
        )
