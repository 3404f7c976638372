"""`cspbill demo`: run the demo month against the sandboxes and serve the web desk."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("demo", help="Run the demo month against the sandboxes and serve the web desk.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def demo_command() -> None:
        raise NotAvailableYet(
            "`cspbill demo` is not available yet: the demo has not landed"
        )
