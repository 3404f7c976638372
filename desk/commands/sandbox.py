"""`cspbill sandbox`: run every vendor sandbox in the foreground and print their base URLs."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("sandbox", help="Run every vendor sandbox in the foreground and print their base URLs.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def sandbox_command() -> None:
        raise NotAvailableYet(
            "`cspbill sandbox` is not available yet: the sandboxes has not landed"
        )
