"""`cspbill audit`: list audit events (builds, changes, approvals, rejections, exports), newest first."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, day_option, state
from services.operations import list_events


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        since: str = typer.Option(None, "--since", help="Only events on or after this day (YYYY-MM-DD, UTC)."),
        action: str = typer.Option(None, "--action", help="Only this action, e.g. batch.approve."),
        limit: int = typer.Option(200, "--limit", min=1, max=10000),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """List audit events (who, when, what, totals before and after)."""
        cli = state(ctx)
        events = list_events(cli.settings(), cli.actor(as_user), tenant, day_option("--since", since), action, limit)
        if as_json:
            typer.echo(json.dumps(events, indent=2, ensure_ascii=False, default=str))
            return
        table = Table(title=f"audit events ({len(events)})")
        for column in ("at (UTC)", "actor", "action", "tenant", "entity", "detail"):
            table.add_column(column)
        for event in events:
            table.add_row(event["at"][:19], event["actor"], event["action"], event["tenant"] or "",
                          f"{event['entity']} {event['entity_id'] or ''}", event["detail"] or "")
        Console().print(table)
