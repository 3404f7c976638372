"""`cspbill sync`: read every configured source (licences, usage, costs) into the ledger.

Shows a live line per source while it reads and stores, then a summary table; exits 1 when a source failed (the
others still ran). ``$CSPBILL_NOW`` runs it "as of" a night (see ``desk.context.CliState.clock``).
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.sync import SyncReport, sync

SHOWN = (("subscriptions_seen", "subs"), ("snapshots_stored", "snaps"), ("customers_created", "new cust"),
         ("usage_inserted", "usage+"), ("cost_lines_inserted", "costs+"), ("discrepancies_raised", "flags"),
         ("errors", "bad"))


def register(app: typer.Typer) -> None:
    @app.command("sync")
    def sync_command(
        ctx: typer.Context,
        source: str = typer.Option(None, "--source", help="Only this source (its name in config.yaml)."),
        tenant: str = typer.Option(None, "--tenant", help="Only the sources of this legal entity."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Read every configured source (licences, usage, costs) into the ledger."""
        cli = state(ctx)
        who = cli.actor(as_user)
        console = Console(stderr=as_json)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(name: str, phase: str) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(f"{name}: {phase}", total=1)
                bar.update(tasks[name], description=f"{name}: {phase}", completed=phase in ("done", "failed"))

            report = sync(cli.settings(), cli.clock(), source=source, tenant=tenant, who=who, progress=progress)
        if as_json:
            typer.echo(json.dumps({"as_of": report.as_of.isoformat(), "runs": [
                {"source": r.source, "tenant": r.tenant, "run_id": r.run_id, "status": r.status, "counts": r.counts,
                 "errors": list(r.errors), "error": r.error} for r in report.runs]}, indent=2))
        else:
            _print(console, report)
        if report.failed:
            raise typer.Exit(1)


def _print(console: Console, report: SyncReport) -> None:
    table = Table(title=f"sync as of {report.as_of:%Y-%m-%d %H:%M} UTC")
    table.add_column("source", no_wrap=True)
    table.add_column("run")
    table.add_column("status", no_wrap=True)
    for _, label in SHOWN:
        table.add_column(label, justify="right")
    colours = {"succeeded": "green", "partial": "yellow", "failed": "red"}
    for run in report.runs:
        table.add_row(run.source, str(run.run_id), f"[{colours[run.status]}]{run.status}[/]",
                      *(str(run.counts.get(key, "")) for key, _ in SHOWN))
    console.print(table)
    for run in report.runs:
        if run.error:
            console.print(f"[red]{run.source} failed:[/] {run.error}", highlight=False, soft_wrap=True)
        for error in run.errors:
            console.print(f"[yellow]{run.source}:[/] {error}", highlight=False, soft_wrap=True)
