"""`cspbill login`, `cspbill logout`, `cspbill whoami`: people prove who they are before the CLI acts for them.

A sign-in gives a short-lived session token (config ``auth.cli_session_hours``), stored in the user's config
directory (mode 0600, see ``desk.credentials``); every later command acts as that person until it expires or is
revoked. ``--device-code`` signs in with Microsoft Entra ID instead (where ``auth.entra`` is configured): the person
opens the printed URL on any device, enters the code and signs in there; their Microsoft account must map onto a
configured user (``users[].entra_username``). Automation sets ``CSPBILL_TOKEN`` to a service account's API token
instead (`cspbill users token`).
"""

from __future__ import annotations

import getpass
import socket
import sys

import typer

from config import Settings
from desk.context import AS_USER_HELP, TOKEN_ENV, fail, state
from desk.entra import EntraUnavailable, device_client, entra_config
from services.errors import NotSignedIn
from services.identity import Issued, sign_in_entra, sign_in_password, sign_out


def register(app: typer.Typer) -> None:
    @app.command("login")
    def login_command(
        ctx: typer.Context,
        username: str = typer.Argument(None, help="Your username from config.yaml (asked when not given)."),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="Read the password from standard input (scripts), not a prompt."),
        device_code: bool = typer.Option(False, "--device-code",
                                         help="Sign in with Microsoft (Entra ID) in a browser, on any device."),
    ) -> None:
        """Sign in with your username and password, or with Microsoft (--device-code); later commands act as you."""
        cli = state(ctx)
        settings = cli.settings()
        if device_code:
            if username or password_stdin:
                fail("--device-code: the Microsoft account decides who you are; give no USERNAME or --password-stdin")
            issued = _device_code_sign_in(settings)
        else:
            name = username or typer.prompt("username")
            password = (sys.stdin.readline().rstrip("\n") if password_stdin
                        else typer.prompt("password", hide_input=True))
            issued = sign_in_password(settings, name, password, "cli", _client())
        cli.credentials().save(issued.actor.username, issued.token, issued.expires_at.isoformat())
        who = issued.actor
        tenants = ", ".join(sorted(who.tenants)) or ("all" if who.sees_all else "none")
        typer.echo(f"signed in as {who.username} until {issued.expires_at:%Y-%m-%d %H:%M} UTC "
                   f"(roles {', '.join(sorted(who.roles))}; legal entities {tenants})")

    @app.command("logout")
    def logout_command(
        ctx: typer.Context,
        username: str = typer.Argument(None, help="Whom to sign out (default: the current sign-in)."),
        everyone: bool = typer.Option(False, "--all", help="Sign out everyone signed in here."),
    ) -> None:
        """End your session: it is revoked in the ledger, not only forgotten here."""
        cli = state(ctx)
        store = cli.credentials()
        names = store.signed_in() if everyone else [store.token(username)[0]]
        for name in filter(None, names):
            _, token = store.token(name)
            if token:
                sign_out(cli.settings(), token)
            store.forget(name)
            typer.echo(f"signed out {name}")
        if not any(names):
            typer.echo("nobody is signed in here")

    @app.command("whoami")
    def whoami_command(
        ctx: typer.Context,
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Who the next command acts as, and how that was proven."""
        who = state(ctx).actor(as_user)
        tenants = ", ".join(sorted(who.tenants)) or ("all" if who.sees_all else "none")
        via = f"{TOKEN_ENV}" if who.method == "api_token" else f"session {who.session_id}"
        typer.echo(f"{who.username} ({who.principal}, {who.method}, {via}); roles {', '.join(sorted(who.roles))}; "
                   f"legal entities {tenants}")


def _client() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _device_code_sign_in(settings: Settings) -> Issued:
    """msal's device-code flow: show the verification URL and code, wait while the person signs in elsewhere, then
    open a session for the configured user their Microsoft account maps to."""
    entra = entra_config(settings)
    client = device_client(settings)
    flow = client.initiate_device_flow(scopes=entra.scopes)
    if "user_code" not in flow:
        raise EntraUnavailable(f"sign-in with Microsoft refused to start: {flow.get('error')} "
                               f"{flow.get('error_description', '')}".strip())
    typer.echo(f"To sign in, open {flow['verification_uri']} in a browser and enter the code {flow['user_code']} "
               f"(valid {int(flow.get('expires_in', 900)) // 60} minutes).", err=True)
    result = client.acquire_token_by_device_flow(flow)
    if "id_token_claims" not in result:
        raise NotSignedIn(f"sign-in with Microsoft did not complete: {result.get('error', 'no ID token')}")
    return sign_in_entra(settings, result["id_token_claims"], "device_code", "cli", _client())
