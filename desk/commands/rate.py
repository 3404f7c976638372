"""`cspbill rate`: rate one case file (rating-cases format) and print the JSON result."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("rate", help="Rate one case file (rating-cases format) and print the JSON result.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def rate_command() -> None:
        raise NotAvailableYet(
            "`cspbill rate` is not available yet: the rating engine has not landed"
        )
