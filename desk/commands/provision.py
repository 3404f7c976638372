"""`cspbill provision run`: send the desk's queued mutations to the vendors of sources with ``provisioning: true``."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.desk import provision

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Provisioning of desk mutations at the vendor.", no_args_is_help=True)
    app.add_typer(group, name="provision")

    @group.command("run")
    def run_command(ctx: typer.Context, username: str = AS_USER,
                    as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Confirm what the vendors now show, then send every due mutation (each exactly once)."""
        cli = state(ctx)
        summary = provision(cli.settings(), cli.actor(username), cli.clock())
        if as_json:
            typer.echo(json.dumps({"counts": summary.counts(),
                                   "mutations": [{"mutation": m, "status": s, "detail": d}
                                                 for m, s, d in summary.outcomes]}, indent=2))
            return
        table = Table(title=f"Provisioning ({summary.confirmed} confirmed by the vendor's counts)")
        for column in ("mutation", "status", "detail"):
            table.add_column(column)
        for mutation, status, detail in summary.outcomes:
            table.add_row(str(mutation), status, detail)
        Console().print(table)
