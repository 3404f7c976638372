"""`cspbill einvoice`: write UBL or ZUGFeRD e-invoice files for a batch."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("einvoice", help="Write UBL or ZUGFeRD e-invoice files for a batch.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def einvoice_command() -> None:
        raise NotAvailableYet(
            "`cspbill einvoice` is not available yet: e-invoices has not landed"
        )
