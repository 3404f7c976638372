"""`cspbill mutation`: service-desk licence mutations: add, list, cancel."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("mutation", help="Service-desk licence mutations: add, list, cancel.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def mutation_command() -> None:
        raise NotAvailableYet(
            "`cspbill mutation` is not available yet: mutations has not landed"
        )
