"""`cspbill demo`: replay a month against the sandboxes, then serve the web desk (or, with --once, finish it)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console

from desk.context import state

DEMO_USERS = (
    ("dana", "service desk, both entities"),
    ("finn", "finance, NL"),
    ("anna", "finance + approver, NL"),
    ("greta", "finance + approver, DE"),
    ("ada", "administrator"),
)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        ctx: typer.Context,
        directory: Path = typer.Option(Path("var/demo"), "--dir", help="Where the demo keeps its ledger, config and "
                                       "sandbox state (ERP state persists here between runs)."),
        once: bool = typer.Option(False, "--once", help="Approve, export and print a JSON summary instead of serving."),
        month: str = typer.Option(None, help="The month to replay (YYYY-MM); default: last month."),
        seed: int = typer.Option(1, help="Scenario seed of the sandboxes."),
        port: int = typer.Option(None, help="Web desk port (default: web.port from config)."),
    ) -> None:
        """A month of a reseller end to end: nightly syncs, desk tickets, reconciliation, draft batches, web desk."""
        from services import demo

        cli = state(ctx)
        console = Console(stderr=once)
        first = (dt.date.fromisoformat(f"{month}-01") if month else demo.previous_month(dt.date.today()))
        run = demo.prepare(Path(cli.config_file()), directory.resolve(), first, seed, fixed_ports=not once)
        try:
            summary = demo.replay_month(run, progress=console.print)
            if once:
                demo.approve_and_export(run, summary, progress=console.print)
                demo.import_demo_payments(run, summary, progress=console.print)
                typer.echo(json.dumps(summary.as_json(), default=str))
                return
            _serve(run, console, port)
        finally:
            run.close()


def _serve(run, console: Console, port: int | None) -> None:
    from desk.commands.serve import serve

    settings = run.settings
    where = f"http://{settings.web.host}:{port or settings.web.port}"
    console.print(f"\n[bold]cspbill demo[/] ledger {run.dir / 'cspbill.db'}, config {run.config_path}")
    console.print(f"web desk on [bold]{where}[/] (Ctrl-C to stop). Demo users, password demo-<name>:")
    for name, role in DEMO_USERS:
        console.print(f"  {name:<6} {role}")
    serve(str(run.config_path), settings, None, port, scheduler_enabled=True)
