"""`cspbill batch`: month-end invoice batches: build, show, explain, approve, reject."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("batch", help="Month-end invoice batches: build, show, explain, approve, reject.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def batch_command() -> None:
        raise NotAvailableYet(
            "`cspbill batch` is not available yet: month-end batches has not landed"
        )
