"""`cspbill jobs`: scheduled jobs and their last runs."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("jobs", help="Scheduled jobs and their last runs.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def jobs_command() -> None:
        raise NotAvailableYet(
            "`cspbill jobs` is not available yet: the scheduler has not landed"
        )
