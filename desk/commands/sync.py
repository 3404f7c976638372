"""`cspbill sync`: read every configured source (licences, usage, costs) into the ledger."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("sync", help="Read every configured source (licences, usage, costs) into the ledger.",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def sync_command() -> None:
        raise NotAvailableYet(
            "`cspbill sync` is not available yet: the sync service has not landed"
        )
