"""`cspbill export`: push approved invoices to each legal entity's ERP through the outbox, exactly once; `cspbill
export sweep`: look the recently sent ones up in the ERP and clear duplicate drafts."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import state
from services.access import SYSTEM, actor
from services.export import ExportOutcome, SweepSummary, export_invoices, sweep_duplicates

STYLES = {"created": "green", "updated": "green", "adopted": "green", "posted": "green", "skipped": "dim",
          "queued": "yellow", "uncertain": "bold yellow", "failed": "bold red", "busy": "yellow"}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Send approved invoices to the ERP; `export sweep` looks for duplicates there.")
    app.add_typer(group, name="export")

    @group.callback(invoke_without_command=True)
    def export_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one you may see)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created, updated or skipped in "
                                                              "the ERP; change nothing anywhere."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Also retry exports that failed for good "
                                                                        "(rejected, totals differ)."),
        username: str = typer.Option(SYSTEM, "--as", help="Act as this configured user (roles and tenants apply)."),
        as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON."),
    ) -> None:
        """Send approved invoices to the ERP (look-up before create, retries through the outbox), then sweep the
        recently sent ones for duplicates."""
        if ctx.invoked_subcommand is not None:
            return
        settings = state(ctx).settings()
        console = Console(stderr=as_json)

        def show(outcome: ExportOutcome) -> None:
            style = STYLES.get(outcome.action, "cyan")
            detail = f" [dim]{escape(outcome.error)}[/]" if outcome.error else ""
            erp = f" -> {escape(outcome.erp_number or outcome.erp_document_id or '')}" if outcome.erp_document_id \
                else ""
            console.print(f"{outcome.tenant} {escape(outcome.invoice_number)} ({outcome.external_ref}): "
                          f"[{style}]{outcome.action}[/]{erp}{detail}", highlight=False)

        summaries = export_invoices(settings, actor(settings, username), tenant, dry_run=dry_run,
                                    retry_failed=retry_failed, progress=show)
        if as_json:
            typer.echo(json.dumps([{"tenant": s.tenant, "target": s.target, "dry_run": s.dry_run,
                                    "queued": s.queued, "counts": s.counts(), "stopped": s.stopped,
                                    "sweep": s.sweep.counts() if s.sweep else None,
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
            uncertain = summary.counts().get("uncertain", 0)
            if uncertain:
                console.print(f"[yellow]{summary.tenant}: {uncertain} uncertain: a write went unanswered; looked up "
                              "again, created again only when a look-up after the ERP's longest request finds "
                              "nothing[/]", highlight=False)
        sweeps = [s.sweep for s in summaries if s.sweep is not None]
        if sweeps:
            show_sweep(console, sweeps)
        if any(o.action == "failed" for s in summaries for o in s.outcomes) and not dry_run:
            raise typer.Exit(1)

    @group.command("sweep")
    def sweep_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one you may see)."),
        days: int = typer.Option(None, "--days", min=0, help="Look back this many days (default: erp.sweep_days)."),
        username: str = typer.Option(SYSTEM, "--as", help="Act as this configured user (roles and tenants apply)."),
        as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    ) -> None:
        """Look every recently sent invoice up in its ERP: more than one document is a finding; an extra draft is
        deleted, a posted extra reported."""
        settings = state(ctx).settings()
        console = Console(stderr=as_json)
        summaries = sweep_duplicates(settings, actor(settings, username), tenant, days=days)
        if as_json:
            typer.echo(json.dumps([{"tenant": s.tenant, "target": s.target, "counts": s.counts(),
                                    "skipped": s.skipped, "errors": s.errors,
                                    "findings": [asdict(f) for f in s.findings]} for s in summaries],
                                  indent=2, default=str))
        show_sweep(console, summaries)


def show_sweep(console: Console, summaries: list[SweepSummary]) -> None:
    """The sweep's table and one line per finding with every ERP id."""
    table = Table(title="Duplicate sweep")
    for column in ("tenant", "ERP", "looked up", "duplicates", "drafts removed", "reported", "look-ups failed"):
        table.add_column(column)
    for summary in summaries:
        counts = summary.counts()
        table.add_row(summary.tenant, summary.target, summary.skipped or str(counts["checked"]),
                      str(counts["duplicates"]), str(counts["removed"]), str(counts["reported"]),
                      str(counts["errors"]))
    console.print(table)
    for summary in summaries:
        for finding in summary.findings:
            copies = ", ".join(f"{d['erp_id']} ({d['status']}, {d['outcome']})" for d in finding.documents)
            console.print(f"[yellow]{summary.tenant} {escape(finding.external_ref)}: {len(finding.documents)} "
                          f"documents in {summary.target}: {escape(copies)}[/]", highlight=False)
        for error in summary.errors:
            console.print(f"[red]{summary.tenant}: {escape(error)}[/]", highlight=False)
