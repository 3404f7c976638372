"""`cspbill archive list|get|verify`: the documents issued to customers, stored once with their SHA-256; `verify`
re-hashes every one and exits non-zero naming the first that no longer matches."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import AS_USER_HELP, state
from desk.exit_codes import ExitCode
from services.delivery import get_document, list_documents, verify_archive

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The archive of issued documents: list, get, verify.", no_args_is_help=True)
    app.add_typer(group, name="archive")

    @group.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Only this legal entity."),
        customer: str = typer.Option(None, "--customer", help="Customer name contains this."),
        number: str = typer.Option(None, "--number", help="This invoice number."),
        month: str = typer.Option(None, "--month", help="Invoices of this batch month (YYYY-MM)."),
        as_user: str = AS_USER,
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Archived documents: invoice, customer, month, kind, size and SHA-256."""
        cli = state(ctx)
        entries = list_documents(cli.settings(), cli.actor(as_user), tenant=tenant, customer=customer, number=number,
                                 month=month)
        if as_json:
            typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
            return
        table = Table(title=f"archived documents ({len(entries)})")
        for column in ("id", "tenant", "invoice", "customer", "month", "file", "bytes", "sha256"):
            table.add_column(column)
        for e in entries:
            table.add_row(str(e.id), e.tenant, e.invoice_number, escape(e.customer), e.month, e.filename,
                          str(e.size), e.sha256[:16] + "…")
        Console().print(table)

    @group.command("get")
    def get_command(
        ctx: typer.Context,
        document_id: int = typer.Argument(..., help="The archived document's id (see `archive list`)."),
        out: Path = typer.Option(None, "--out", "-o", help="Write it here (a file, or a directory for its own "
                                                            "name); default: the current directory."),
        as_user: str = AS_USER,
    ) -> None:
        """Write one archived document to disk, exactly as it was issued."""
        cli = state(ctx)
        found = get_document(cli.settings(), cli.actor(as_user), document_id)
        target = out or Path.cwd()
        if target.is_dir():
            target = target / found.entry.filename
        target.write_bytes(found.content)
        typer.echo(f"{target} ({found.entry.size} bytes, sha256 {found.entry.sha256})")

    @group.command("verify")
    def verify_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Only this legal entity's documents."),
        as_user: str = AS_USER,
    ) -> None:
        """Re-hash every archived document; exit 5 naming the first whose bytes differ from its recorded hash."""
        cli = state(ctx)
        result = verify_archive(cli.settings(), cli.actor(as_user), tenant)
        if result.mismatch is not None:
            bad = result.mismatch
            typer.echo(f"archive: document {bad.id} ({bad.filename}, invoice {bad.invoice_number}, {bad.tenant}) no "
                       f"longer matches its sha256 {bad.sha256}; {result.checked} checked")
            raise typer.Exit(int(ExitCode.FAILED))
        typer.echo(f"archive: {result.checked} documents, every hash matches")
