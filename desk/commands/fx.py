"""`cspbill fx sync|list`: the exchange rates lines in another currency are converted with.

``sync`` reads the configured source (the ECB's reference rates, config ``fx:``) into the ledger, as the nightly
sync does; ``--history`` reads every published day instead of the latest ones. ``list`` shows what is recorded.
"""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.sync import list_fx, sync_fx

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
DAY_FORMATS = ["%Y-%m-%d"]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Exchange rates (ECB euro reference rates): sync, list.", no_args_is_help=True)
    app.add_typer(group, name="fx")

    @group.command("sync")
    def sync_command(
        ctx: typer.Context,
        history: bool = typer.Option(False, "--history", help="Read the full history, not just the latest days."),
        as_json: bool = typer.Option(False, "--json", help="Print the run as JSON."),
        as_user: str = AS_USER,
    ) -> None:
        """Read the exchange rates into the ledger; rates already recorded are never stored twice."""
        cli = state(ctx)
        settings = cli.settings()
        run = sync_fx(settings, cli.clock(), history=history, who=cli.actor(as_user))
        if as_json:
            typer.echo(json.dumps({"source": run.source, "run_id": run.run_id, "status": run.status,
                                   "counts": run.counts, "errors": list(run.errors), "error": run.error}, indent=2))
        else:
            counts = ", ".join(f"{key} {value}" for key, value in run.counts.items())
            typer.echo(f"{run.source} run {run.run_id}: {run.status}" + (f" ({counts})" if counts else ""))
            for error in run.errors:
                typer.echo(f"  {error}", err=True)
            if run.error:
                typer.echo(f"{run.source} failed: {run.error}", err=True)
        if run.status == "failed":
            raise typer.Exit(1)

    @group.command("list")
    def list_command(
        ctx: typer.Context,
        currency: str = typer.Option(None, "--currency", help="Only rates of this currency (e.g. USD)."),
        first: dt.datetime = typer.Option(None, "--from", formats=DAY_FORMATS, help="First day (YYYY-MM-DD)."),
        last: dt.datetime = typer.Option(None, "--to", formats=DAY_FORMATS, help="Last day (YYYY-MM-DD)."),
        as_json: bool = typer.Option(False, "--json", help="Print the rates as JSON."),
        as_user: str = AS_USER,
    ) -> None:
        """Recorded exchange rates, newest day first."""
        cli = state(ctx)
        settings = cli.settings()
        rates = list_fx(settings, cli.actor(as_user), currency, _day(first), _day(last))
        if as_json:
            typer.echo(json.dumps([{"base": r.base, "quote": r.quote, "date": r.rate_date.isoformat(),
                                    "rate": str(r.rate), "source": r.source} for r in rates], indent=2))
            return
        table = Table(title=f"Exchange rates ({len(rates)})")
        for column in ("date", "pair", "rate", "source"):
            table.add_column(column)
        for r in rates:
            table.add_row(r.rate_date.isoformat(), f"{r.base}->{r.quote}", str(r.rate), r.source)
        Console().print(table)
