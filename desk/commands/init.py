"""`cspbill init`: create or migrate the ledger database; safe to run twice."""

from __future__ import annotations

import typer
from rich.console import Console

from desk.context import state
from services.operations import initialise


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_command(ctx: typer.Context) -> None:
        """Create or migrate the ledger and load tenants and users from config (idempotent)."""
        report = initialise(state(ctx).settings())
        console = Console()
        console.print(f"ledger ready: {report.database} at revision {', '.join(report.revisions)}")
        console.print(
            f"tenants changed: {report.tenants_changed}, users changed: {report.users_changed}, "
            f"users deactivated: {report.users_deactivated}"
        )
        if report.price_edition is not None:
            console.print(f"config.yaml price_rules recorded as price book edition {report.price_edition}")
