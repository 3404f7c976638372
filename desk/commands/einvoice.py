"""`cspbill einvoice`: write e-invoice files (Peppol UBL, CII, Factur-X PDF, XRechnung, plain PDF) for a batch's
approved invoices."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from desk.context import AS_USER_HELP, state
from services.export import write_einvoices

FORMAT_HELP = ("ubl (Peppol BIS 3.0), cii (Factur-X EN 16931 XML), facturx (PDF/A-3 with the CII; alias zugferd), "
               "xrechnung (XRechnung 3.0 UBL) or pdf (the readable invoice).")


def register(app: typer.Typer) -> None:
    @app.command("einvoice")
    def einvoice_command(
        ctx: typer.Context,
        batch: str = typer.Option(..., "--batch", "-b", help="Batch id, or YYYY-MM together with --tenant."),
        fmt: str = typer.Option("ubl", "--format", "-f", help=FORMAT_HELP),
        out: Path = typer.Option(..., "--out", "-o", help="Directory to write the files into (created if needed)."),
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code when --batch is a month."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Write one e-invoice file per approved invoice of a batch."""
        cli = state(ctx)
        settings = cli.settings()
        files = write_einvoices(settings, cli.actor(username), batch, fmt, out, tenant)
        console = Console()
        for file in files:
            console.print(f"{file.invoice_number}: {file.path}", highlight=False)
        console.print(f"{len(files)} {fmt} file(s) written to {out}")
