"""`cspbill einvoice`: write UBL (Peppol) or ZUGFeRD / Factur-X e-invoice files for a batch's approved invoices."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from desk.context import state
from services.access import SYSTEM, actor
from services.export import write_einvoices


def register(app: typer.Typer) -> None:
    @app.command("einvoice")
    def einvoice_command(
        ctx: typer.Context,
        batch: str = typer.Option(..., "--batch", "-b", help="Batch id, or YYYY-MM together with --tenant."),
        fmt: str = typer.Option("ubl", "--format", "-f", help="ubl (Peppol BIS 3.0 XML) or zugferd (Factur-X PDF)."),
        out: Path = typer.Option(..., "--out", "-o", help="Directory to write the files into (created if needed)."),
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code when --batch is a month."),
        username: str = typer.Option(SYSTEM, "--as", help="Act as this configured user (roles and tenants apply)."),
    ) -> None:
        """Write one e-invoice file per approved invoice of a batch."""
        settings = state(ctx).settings()
        files = write_einvoices(settings, actor(settings, username), batch, fmt, out, tenant)
        console = Console()
        for file in files:
            console.print(f"{file.invoice_number}: {file.path}", highlight=False)
        console.print(f"{len(files)} {fmt} file(s) written to {out}")
