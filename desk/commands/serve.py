"""`cspbill serve`: serve the web desk and run the scheduler in one process."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("serve", help="Serve the web desk and run the scheduler in one process.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def serve_command() -> None:
        raise NotAvailableYet(
            "`cspbill serve` is not available yet: the web desk has not landed"
        )
