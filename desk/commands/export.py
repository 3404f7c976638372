"""`cspbill export`: push approved invoices to each legal entity's ERP through the outbox, exactly once; `cspbill
export sweep`: look the recently sent ones up in the ERP and clear duplicate drafts.

The last line counts what went out in this run and what is still due (queued, uncertain, failed) in the outbox of
the legal entities exported to; the exit code follows ``desk.exit_codes`` (0 only when nothing is left). Invoices are
listed one by one up to ``--list`` (a month of a large host is hundreds of thousands); past it only those that need a
person (failed, queued, uncertain, busy) are, and one line counts the rest: the summary table counts every invoice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import AS_USER_HELP, state
from desk.exit_codes import Tally, exit_with
from desk.progress import progress_bars
from services.export import ExportOutcome, ExportSummary, SweepSummary, export_invoices, outstanding, sweep_duplicates

SENT = ("created", "updated", "adopted", "posted")
ATTENTION = frozenset({"failed", "queued", "uncertain", "busy"})  # always listed: a person has something to do or know
LISTED = 50
STYLES = {"created": "green", "updated": "green", "adopted": "green", "posted": "green", "skipped": "dim",
          "queued": "yellow", "uncertain": "bold yellow", "failed": "bold red", "busy": "yellow"}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Send approved invoices to the ERP; `export sweep` looks for duplicates there.")
    app.add_typer(group, name="export")

    @group.callback(invoke_without_command=True)
    def export_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one you may see)."),
        batch: int = typer.Option(None, "--batch", help="Only this batch's invoices (its id, as on the web desk's "
                                                        "export page; needs --tenant)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created, updated or skipped in "
                                                              "the ERP; change nothing anywhere."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Also retry exports that failed for good "
                                                                        "(rejected, totals differ)."),
        listed: int = typer.Option(LISTED, "--list", min=0, help="List at most this many invoices one by one; "
                                                                  "failed, queued and uncertain ones always are."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the outcomes as JSON (every invoice)."),
    ) -> None:
        """Send approved invoices to the ERP (look-up before create, retries through the outbox), then sweep the
        recently sent ones for duplicates."""
        if ctx.invoked_subcommand is not None:
            return
        cli = state(ctx)
        settings = cli.settings()
        console = Console(stderr=as_json)
        shown: Counter[str] = Counter()
        unlisted: Counter[str] = Counter()

        def show(outcome: ExportOutcome) -> None:
            if outcome.action not in ATTENTION and listed <= shown.total():
                unlisted[outcome.action] += 1
                return
            shown[outcome.action] += 1
            style = STYLES.get(outcome.action, "cyan")
            detail = f" [dim]{escape(outcome.error)}[/]" if outcome.error else ""
            erp = f" -> {escape(outcome.erp_number or outcome.erp_document_id or '')}" if outcome.erp_document_id \
                else ""
            console.print(f"{outcome.tenant} {escape(outcome.invoice_number)} ({outcome.external_ref}): "
                          f"[{style}]{outcome.action}[/]{erp}{detail}", highlight=False)

        who = cli.actor(username)
        with progress_bars("export") as counted:
            summaries = export_invoices(settings, who, tenant, batch=batch, dry_run=dry_run, retry_failed=retry_failed,
                                        progress=show, counted=counted)
        if unlisted:
            console.print(f"{unlisted.total()} more invoices not listed one by one ("
                          + ", ".join(f"{action} {n}" for action, n in sorted(unlisted.items()))
                          + "); --json or --list shows each", markup=False, highlight=False, soft_wrap=True)
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

        if dry_run:
            tally = _dry_run_tally(summaries)
        else:
            left = outstanding(settings, who, [(s.tenant, s.target) for s in summaries])
            tally = Tally.of("export", [("sent", _count(summaries, SENT)), ("already in the ERP",
                                        _count(summaries, ("skipped",))), *left.items()],
                             pending=("queued", "uncertain"), failed=("failed",))
        exit_with(tally, lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))

    @group.command("sweep")
    def sweep_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", "-t", help="Legal entity code (default: every one you may see)."),
        days: int = typer.Option(None, "--days", min=0, help="Look back this many days (default: erp.sweep_days)."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    ) -> None:
        """Look every recently sent invoice up in its ERP: more than one document is a finding; an extra draft is
        deleted, a posted extra reported."""
        cli = state(ctx)
        console = Console(stderr=as_json)
        summaries = sweep_duplicates(cli.settings(), cli.actor(username), tenant, days=days)
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


def _count(summaries: list[ExportSummary], actions: tuple[str, ...]) -> int:
    return sum(1 for summary in summaries for outcome in summary.outcomes if outcome.action in actions)


def _dry_run_tally(summaries: list[ExportSummary]) -> Tally:
    """A dry run changes nothing: it counts what a run would do, and fails only on invoices that cannot be sent."""
    actions = ("would-create", "would-update", "would-skip", "failed")
    return Tally.of("export dry run", [(action, _count(summaries, (action,))) for action in actions],
                    failed=("failed",))

