"""`cspbill deliver`: send approved invoices to customers whose channel is e-mail or Peppol, once, through the
delivery outbox; `--resend N` sends delivery N again (a person's decision, e.g. after an uncertain send);
`cspbill deliver status`: where each invoice's delivery stands.

The last line counts the outcomes; the exit code follows ``desk.exit_codes`` (PENDING while something is queued or
waiting for the access point's evidence, FAILED when a delivery bounced, failed or is uncertain).
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
from services.delivery import ATTENTION, DeliveryOutcome, deliver_invoices, delivery_status, resend

STYLES = {"sent": "green", "submitted": "cyan", "queued": "yellow", "uncertain": "bold yellow", "bounced": "bold red",
          "failed": "bold red", "busy": "yellow"}
ORDER = ("sent", "submitted", "queued", "uncertain", "bounced", "failed", "busy")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Deliver approved invoices by e-mail or Peppol; `deliver status` shows where each is.")
    app.add_typer(group, name="deliver")

    @group.callback(invoke_without_command=True)
    def deliver_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one with "
                                                                "delivery configured that you may see)."),
        resend_id: int = typer.Option(None, "--resend", help="Send delivery N again now (same Message-ID or "
                                                             "Peppol reference, the archived files)."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
    ) -> None:
        """Queue what became deliverable and send what is due (retries with backoff; never twice)."""
        if ctx.invoked_subcommand is not None:
            return
        cli = state(ctx)
        settings = cli.settings()
        console = Console(stderr=as_json)
        who = cli.actor(username)
        if resend_id is not None:
            outcomes, queued = [resend(settings, who, resend_id)], 0
            _show(console, outcomes[0])
        else:
            summaries = deliver_invoices(settings, who, tenant, progress=lambda o: _show(console, o))
            outcomes = [o for s in summaries for o in s.outcomes]
            queued = sum(s.queued for s in summaries)
        if as_json:
            typer.echo(json.dumps({"queued": queued, "outcomes": [asdict(o) for o in outcomes]}, indent=2))
        counts = [(action, sum(1 for o in outcomes if o.action == action)) for action in ORDER]
        tally = Tally.of("deliver", [("newly queued", queued), *counts], pending=("queued", "submitted", "busy"),
                         failed=ATTENTION)
        exit_with(tally, lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))

    @group.command("status")
    def status_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Only this legal entity."),
        status: str = typer.Option(None, "--status", help="Only this status (queued, sent, bounced, ...)."),
        month: str = typer.Option(None, "--month", help="Only invoices of this batch month (YYYY-MM)."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Every delivery, newest first: channel, recipient, status, attempts, the last error or the evidence."""
        cli = state(ctx)
        rows = delivery_status(cli.settings(), cli.actor(username), tenant=tenant, status=status, month=month)
        if as_json:
            typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
            return
        table = Table(title=f"deliveries ({len(rows)})")
        for column in ("id", "tenant", "invoice", "customer", "channel", "recipient", "status", "attempts",
                       "detail"):
            table.add_column(column)
        for row in rows:
            style = STYLES.get(row.status, "")
            table.add_row(str(row.id), row.tenant, row.invoice_number, escape(row.customer), row.channel,
                          escape(row.recipient), f"[{style}]{row.status}[/]" if style else row.status,
                          str(row.attempts), escape(row.last_error or row.evidence or ""))
        Console().print(table)


def _show(console: Console, outcome: DeliveryOutcome) -> None:
    style = STYLES.get(outcome.action, "cyan")
    detail = f" [dim]{escape(outcome.error)}[/]" if outcome.error else ""
    console.print(f"{outcome.tenant} {escape(outcome.invoice_number)} #{outcome.delivery_id} {outcome.channel} "
                  f"{escape(outcome.recipient)}: [{style}]{outcome.action}[/]{detail}", highlight=False)
