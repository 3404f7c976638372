"""`cspbill erp connect --tenant T`: a person connects a legal entity's Exact Online (the authorisation-code flow).

Prints the link to Exact's consent page, then either listens once on the loopback redirect URI (``erp.redirect_uri``
is ``http://127.0.0.1:<port>/...``) or takes the address the browser landed on (or its code) with ``--code``. Ends
with the date by which a person must connect again if no export refreshes the token before.
"""

from __future__ import annotations

import typer

from desk.context import AS_USER_HELP, fail, state
from desk.exit_codes import ExitCode
from desk.loopback import callback_listener, is_loopback
from services.export.exact_connect import finish_connect, parse_answer, start_connect


def show(url: str) -> None:
    """The link on stdout (alone, for scripts), what to do with it on stderr."""
    typer.echo("Open the address below, sign in to Exact Online and allow cspbill:", err=True)
    typer.echo(url)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The ERP connection of a legal entity.")
    app.add_typer(group, name="erp")

    @group.command("connect")
    def connect(
        ctx: typer.Context,
        tenant: str = typer.Option(..., "--tenant", "-t", help="Legal entity code (its erp.kind: exact_online)."),
        code: str = typer.Option(None, "--code", help="The address Exact sent you to after consenting (or just its "
                                                      "code), from an earlier `erp connect` of this tenant."),
        wait: float = typer.Option(300.0, "--wait", help="Seconds to wait for the browser on the loopback address."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Connect the tenant's Exact Online: you consent in Exact, cspbill keeps the first refresh token."""
        cli = state(ctx)
        settings = cli.settings()
        who = cli.actor(username)
        if code is None:
            started = start_connect(settings, who, tenant)
            if not is_loopback(started.redirect_uri):
                show(started.url)
                typer.echo(f"Then run: cspbill erp connect --tenant {tenant} --code '<the address you landed on>'",
                           err=True)
                return
            with callback_listener(started.redirect_uri) as wait_for:
                show(started.url)
                answer = wait_for(wait)
            if answer is None:
                fail(f"tenant {tenant!r}: no answer from the browser within {wait:.0f} s; run it again",
                     ExitCode.PENDING)
            if "error" in answer:
                fail(f"tenant {tenant!r}: Exact answered {answer['error']}: not connected")
            found, given_state = answer.get("code", ""), answer.get("state")
        else:
            found, given_state = parse_answer(code)
        done = finish_connect(settings, who, tenant, found, given_state)
        typer.echo(f"{tenant}: Exact Online connected at {done.connected_at:%Y-%m-%d %H:%M} UTC. If no export "
                   f"refreshes it, a person must connect again by {done.reconnect_by:%Y-%m-%d} (30 days unused).",
                   err=True)
