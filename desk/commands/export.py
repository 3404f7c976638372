"""`cspbill export`: push approved invoices to the ERP through the outbox, exactly once."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("export", help="Push approved invoices to the ERP through the outbox, exactly once.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def export_command() -> None:
        raise NotAvailableYet(
            "`cspbill export` is not available yet: the ERP export has not landed"
        )
