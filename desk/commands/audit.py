"""`cspbill audit`: list audit events (builds, changes, approvals, rejections, exports), newest first;
`cspbill audit verify`: check that nobody rewrote or removed one (exit code 1 when a chain is broken)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, day_option, state
from services.operations import list_events, verify_chains

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
CLOCK_SKEW = dt.timedelta(seconds=1)  # below this, `at` and `recorded_at` are the same moment to a reader


def _when(at: str, recorded_at: str) -> str:
    """The services' instant, and below it the wall-clock time it was recorded when that differs (a replayed or
    overridden clock)."""
    gap = abs(dt.datetime.fromisoformat(recorded_at) - dt.datetime.fromisoformat(at))
    return f"{at[:19]}\nrecorded\n{recorded_at[:19]}" if gap >= CLOCK_SKEW else at[:19]


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The audit trail: list events, verify the hash chains.", no_args_is_help=False)
    app.add_typer(audit_app, name="audit")

    @audit_app.callback(invoke_without_command=True)
    def audit_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        since: str = typer.Option(None, "--since", help="Only events on or after this day (YYYY-MM-DD, UTC)."),
        action: str = typer.Option(None, "--action", help="Only this action, e.g. batch.approve."),
        limit: int = typer.Option(200, "--limit", min=1, max=10000),
        as_user: str = AS_USER,
        as_json: bool = AS_JSON,
    ) -> None:
        """List audit events (who, when, what, totals before and after); `verify` checks the hash chains."""
        if ctx.invoked_subcommand is not None:
            return
        cli = state(ctx)
        events = list_events(cli.settings(), cli.actor(as_user), tenant, day_option("--since", since), action, limit)
        if as_json:
            typer.echo(json.dumps(events, indent=2, ensure_ascii=False, default=str))
            return
        table = Table(title=f"audit events ({len(events)})")
        table.add_column("at (UTC)", min_width=19)
        for column in ("actor", "action", "tenant", "entity", "detail"):
            table.add_column(column)
        for event in events:
            table.add_row(_when(event["at"], event["recorded_at"]), event["actor"], event["action"],
                          event["tenant"] or "", f"{event['entity']} {event['entity_id'] or ''}",
                          event["detail"] or "")
        Console().print(table)

    @audit_app.command("verify")
    def verify_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity's chain."),
        as_user: str = AS_USER,
        as_json: bool = AS_JSON,
    ) -> None:
        """Walk each audit chain: intact, or its first broken link (exit code 1 when any chain is broken)."""
        cli = state(ctx)
        verdicts = verify_chains(cli.settings(), cli.actor(as_user), tenant)
        if as_json:
            typer.echo(json.dumps([{**asdict(v), "intact": v.intact, "sentence": v.sentence} for v in verdicts],
                                  indent=2))
        else:
            for verdict in verdicts:
                typer.echo(verdict.sentence)
        if not all(v.intact for v in verdicts):
            raise typer.Exit(1)
