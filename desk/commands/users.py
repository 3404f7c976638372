"""`cspbill users`: people and service accounts, their sessions, revoking them, and API tokens (administrators)."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, TOKEN_ENV, fail, state
from services.identity import issue_api_token, list_people, list_sessions, revoke_session

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="People, service accounts, sessions and API tokens (administrators).",
                        no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("list")
    def list_command(ctx: typer.Context, as_user: str = AS_USER,
                     as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
        """People and service accounts: roles, legal entities, last sign-in, active sessions."""
        cli = state(ctx)
        rows = list_people(cli.settings(), cli.actor(as_user))
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        table = Table(title=f"users ({len(rows)})")
        for column in ("user", "kind", "name", "roles", "legal entities", "sign-in", "last sign-in", "sessions"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["username"], row["kind"], row["name"], ", ".join(row["roles"]),
                          ", ".join(row["tenants"]), row["sign_in"], _when(row["last_sign_in"]),
                          str(row["active_sessions"]))
        Console().print(table)

    @users.command("sessions")
    def sessions_command(ctx: typer.Context,
                         user: str = typer.Option(None, "--user", help="Only this person's or account's."),
                         as_user: str = AS_USER,
                         as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
        """Active sessions and API tokens (the tokens themselves are never shown again)."""
        cli = state(ctx)
        rows = list_sessions(cli.settings(), cli.actor(as_user), user)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        table = Table(title=f"active sessions ({len(rows)})")
        for column in ("id", "user", "channel", "method", "client / label", "since", "expires", "last used"):
            table.add_column(column)
        for row in rows:
            table.add_row(str(row["id"]), row["username"], row["channel"], row["method"],
                          row["label"] or row["client"] or "", _when(row["created_at"]), _when(row["expires_at"]),
                          _when(row["last_used_at"]))
        Console().print(table)

    @users.command("revoke")
    def revoke_command(ctx: typer.Context,
                       session_id: int = typer.Argument(None, help="A session or token id (`cspbill users sessions`)."),
                       user: str = typer.Option(None, "--user", help="Revoke every session and token of this name."),
                       reason: str = typer.Option("revoked by an administrator", "--reason"),
                       as_user: str = AS_USER) -> None:
        """End a session or API token now (or all of one person's)."""
        if (session_id is None) == (user is None):
            fail("give exactly one of SESSION_ID or --user NAME")
        cli = state(ctx)
        count = revoke_session(cli.settings(), cli.actor(as_user), session_id, username=user, reason=reason)
        typer.echo(f"{count} session(s) revoked")

    @users.command("token")
    def token_command(ctx: typer.Context,
                      account: str = typer.Argument(..., help="A service account from config.yaml service_accounts."),
                      label: str = typer.Option(None, "--label", help="What the token is for (shown in sessions)."),
                      days: int = typer.Option(None, "--days", min=1, max=366,
                                               help="Lifetime (default: auth.api_token_days)."),
                      as_user: str = AS_USER) -> None:
        """Issue an API token for a service account; it is printed once, store it in the automation's secrets."""
        cli = state(ctx)
        issued = issue_api_token(cli.settings(), cli.actor(as_user), account, label, days)
        typer.echo(f"API token for {account} (session {issued.session_id}), valid until "
                   f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; set {TOKEN_ENV} to it:")
        typer.echo(issued.token)
