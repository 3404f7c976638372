"""`cspbill notify run`: send the queued notification e-mails (batch ready for approval, export failed, new blocking
findings) once each, as the scheduler's notify job does; `cspbill notify status`: the latest ones and where they
stand.

The last line counts the outcomes; the exit code follows ``desk.exit_codes`` (PENDING while some wait for a retry,
FAILED when one failed or is uncertain).
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import AS_USER_HELP, state
from desk.exit_codes import Tally, exit_with
from services.notifications.outbox import list_notifications, send_notifications

ORDER = ("sent", "queued", "busy", "failed", "uncertain")
STYLES = {"sent": "green", "queued": "yellow", "busy": "yellow", "failed": "bold red", "uncertain": "bold yellow"}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Notification e-mails to finance: `notify run` sends what is queued, `notify status` "
                             "lists them.", no_args_is_help=True)
    app.add_typer(group, name="notify")

    @group.command("run")
    def run_command(
        ctx: typer.Context,
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
    ) -> None:
        """Send every due notification of the legal entities you may see (never one twice; failures retried)."""
        cli = state(ctx)
        console = Console(stderr=as_json)
        outcomes = send_notifications(cli.settings(), cli.actor(username))
        for outcome in outcomes:
            style = STYLES.get(outcome.action, "cyan")
            detail = f" [dim]{escape(outcome.error)}[/]" if outcome.error else ""
            console.print(f"{outcome.tenant} #{outcome.id} {outcome.kind} {escape(outcome.recipient)}: "
                          f"[{style}]{outcome.action}[/]{detail}", highlight=False)
        if as_json:
            typer.echo(json.dumps([asdict(o) for o in outcomes], indent=2))
        counts = [(action, sum(1 for o in outcomes if o.action == action)) for action in ORDER]
        tally = Tally.of("notify", counts, pending=("queued", "busy"), failed=("failed", "uncertain"))
        exit_with(tally, lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))

    @group.command("status")
    def status_command(
        ctx: typer.Context,
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """The latest notifications, newest first: kind, recipient, subject, status, attempts, last error."""
        cli = state(ctx)
        rows = list_notifications(cli.settings(), cli.actor(username))
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table(title=f"notifications ({len(rows)})")
        for column in ("id", "tenant", "kind", "recipient", "subject", "status", "attempts", "detail"):
            table.add_column(column)
        for row in rows:
            style = STYLES.get(row["status"], "")
            table.add_row(str(row["id"]), row["tenant"], row["kind"], escape(row["recipient"]), escape(row["subject"]),
                          f"[{style}]{row['status']}[/]" if style else row["status"], str(row["attempts"]),
                          escape(row["last_error"] or row["evidence"] or ""))
        Console().print(table)
