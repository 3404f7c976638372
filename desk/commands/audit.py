"""`cspbill audit`: list audit events (builds, approvals, exports)."""

from __future__ import annotations

import typer

from services.errors import NotAvailableYet


def register(app: typer.Typer) -> None:
    @app.command("audit", help="List audit events (builds, approvals, exports).",
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def audit_command() -> None:
        raise NotAvailableYet(
            "`cspbill audit` is not available yet: the audit listing has not landed"
        )
