"""`cspbill export`: push approved invoices to each legal entity's ERP through the outbox, exactly once."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.export import ExportOutcome, export_invoices

STYLES = {"created": "green", "updated": "green", "adopted": "green", "posted": "green", "skipped": "dim",
          "queued": "yellow", "failed": "bold red", "busy": "yellow"}


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one you may see)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created, updated or skipped in "
                                                              "the ERP; change nothing anywhere."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Also retry exports that failed for good "
                                                                        "(rejected, totals differ)."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
    ) -> None:
        """Send approved invoices to the ERP (look-up before create, retries through the outbox)."""
        cli = state(ctx)
        settings = cli.settings()
        console = Console(stderr=as_json)

        def show(outcome: ExportOutcome) -> None:
            style = STYLES.get(outcome.action, "cyan")
            detail = f" [dim]{escape(outcome.error)}[/]" if outcome.error else ""
            erp = f" -> {escape(outcome.erp_number or outcome.erp_document_id or '')}" if outcome.erp_document_id \
                else ""
            console.print(f"{outcome.tenant} {escape(outcome.invoice_number)} ({outcome.external_ref}): "
                          f"[{style}]{outcome.action}[/]{erp}{detail}", highlight=False)

        summaries = export_invoices(settings, cli.actor(username), tenant, dry_run=dry_run,
                                    retry_failed=retry_failed, progress=show)
        if as_json:
            typer.echo(json.dumps([{"tenant": s.tenant, "target": s.target, "dry_run": s.dry_run,
                                    "queued": s.queued, "counts": s.counts(), "stopped": s.stopped,
                                    "outcomes": [asdict(o) for o in s.outcomes]}
                                   for s in summaries], indent=2))
        table = Table(title="Export dry run: nothing was changed" if dry_run else "Export summary")
        for column in ("tenant", "ERP", "newly queued", "invoices", "outcome"):
            table.add_column(column)
        for summary in summaries:
            counts = summary.counts()
            table.add_row(summary.tenant, summary.target, str(summary.queued), str(len(summary.outcomes)),
                          ", ".join(f"{action} {n}" for action, n in sorted(counts.items())) or "nothing to do")
        console.print(table)
        for summary in summaries:
            if summary.stopped:
                console.print(f"[yellow]{summary.tenant}: {escape(summary.stopped)}[/]", highlight=False)
        if any(o.action == "failed" for s in summaries for o in s.outcomes) and not dry_run:
            raise typer.Exit(1)
