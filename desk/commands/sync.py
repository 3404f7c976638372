"""`cspbill sync`: read every configured source (licences, usage, costs) into the ledger; `cspbill sync status`: the
last runs of each source, with runs whose process died shown as ``abandoned``. Shows a bar counting the sources read
and stored (plain lines when stdout is no terminal, ``desk.progress``), then a summary table and a line per draft
batch whose stored review figures the new snapshots made it work out again (``services.operations.syncing``), and
ends with one line counting the sources by outcome. The exit code follows ``desk.exit_codes``: a source that failed
makes it FAILED (the others still ran), a source that failed for want of configuration (a missing secret) CONFIG.
``$CSPBILL_NOW`` runs it "as of" a night (see ``desk.context.CliState.clock``).
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from desk.context import AS_USER_HELP, state
from desk.exit_codes import Tally, exit_with
from desk.progress import progress_bars
from services.operations.syncing import sync_and_refresh
from services.sync import SyncReport, last_sync_runs

SHOWN = (("subscriptions_seen", "subs"), ("snapshots_stored", "snaps"), ("customers_created", "new cust"),
         ("usage_inserted", "usage+"), ("cost_lines_inserted", "costs+"), ("discrepancies_raised", "flags"),
         ("errors", "bad"))
COLOURS = {"succeeded": "green", "partial": "yellow", "failed": "red", "abandoned": "red", "running": "cyan",
           "skipped": "yellow"}


def register(app: typer.Typer) -> None:
    group = typer.Typer(invoke_without_command=True, help="Read every configured source (licences, usage, costs) "
                                                          "into the ledger; `sync status` lists the last runs.")

    @group.callback()
    def sync_command(
        ctx: typer.Context,
        source: str = typer.Option(None, "--source", help="Only this source (its name in config.yaml)."),
        tenant: str = typer.Option(None, "--tenant", help="Only the sources of this legal entity."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a table."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Read every configured source (licences, usage, costs) into the ledger."""
        if ctx.invoked_subcommand is not None:
            return
        cli = state(ctx)
        who = cli.actor(as_user)
        console = Console(stderr=as_json)
        with progress_bars("sync") as counted:
            outcome = sync_and_refresh(cli.settings(), cli.clock(), source=source, tenant=tenant, who=who,
                                       counted=counted)
        report = outcome.report
        if as_json:
            typer.echo(json.dumps({"as_of": report.as_of.isoformat(), "runs": [
                {"source": r.source, "tenant": r.tenant, "run_id": r.run_id, "status": r.status, "counts": r.counts,
                 "errors": list(r.errors), "error": r.error, "misconfigured": r.misconfigured}
                for r in report.runs], "review_refreshed": outcome.refreshed}, indent=2))
        else:
            _print(console, report)
            for tenant_code, months in outcome.refreshed.items():
                for month, figures in months.items():
                    console.print(f"draft batch {tenant_code} {month}: review figures worked out again "
                                  f"({', '.join(figures)})", highlight=False, soft_wrap=True)
        exit_with(_tally(report), lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))

    @group.command("status")
    def status_command(
        ctx: typer.Context,
        limit: int = typer.Option(5, help="How many runs to show per source."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """The last runs of each source; a run whose process died is closed and shown as abandoned."""
        cli = state(ctx)
        settings = cli.settings()
        runs = last_sync_runs(settings, cli.actor(username), limit)
        if as_json:
            typer.echo(json.dumps({source: [{
                "id": r.id, "as_of": r.as_of.isoformat(), "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at and r.finished_at.isoformat(), "status": r.status, "counts": r.counts,
                "error": r.error, "runner": r.runner} for r in rows] for source, rows in runs.items()}, indent=2))
            return
        table = Table(title="Last sync runs per source")
        for column in ("source", "run", "as of", "started", "finished", "status", "error"):
            table.add_column(column)
        for source, rows in runs.items():
            for r in rows:
                table.add_row(source, str(r.id), f"{r.as_of:%Y-%m-%d %H:%M}", f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                              r.finished_at and f"{r.finished_at:%Y-%m-%d %H:%M:%S}",
                              f"[{COLOURS.get(r.status, 'white')}]{r.status}[/]", escape(r.error or ""))
            if not rows:
                table.add_row(source, "", "", "", "", "never synced", "")
        Console().print(table)

    app.add_typer(group, name="sync")


def _tally(report: SyncReport) -> Tally:
    """Sources by outcome; ``partial`` (malformed records listed, the rest stored) is done, not failed, and so is
    ``skipped`` (another run of the source was storing it)."""
    failed = [run for run in report.runs if run.status == "failed"]
    return Tally.of("sync", [
        ("succeeded", sum(1 for run in report.runs if run.status == "succeeded")),
        ("partial", sum(1 for run in report.runs if run.status == "partial")),
        ("skipped", sum(1 for run in report.runs if run.status == "skipped")),
        ("failed", sum(1 for run in failed if not run.misconfigured)),
        ("misconfigured", sum(1 for run in failed if run.misconfigured)),
    ], failed=("failed",), config=("misconfigured",))


def _print(console: Console, report: SyncReport) -> None:
    table = Table(title=f"sync as of {report.as_of:%Y-%m-%d %H:%M} UTC")
    table.add_column("source", no_wrap=True)
    table.add_column("run")
    table.add_column("status", no_wrap=True)
    for _, label in SHOWN:
        table.add_column(label, justify="right")
    for run in report.runs:
        table.add_row(run.source, "" if run.run_id is None else str(run.run_id),
                      f"[{COLOURS[run.status]}]{run.status}[/]", *(str(run.counts.get(key, "")) for key, _ in SHOWN))
    console.print(table)
    for run in report.runs:
        if run.error:
            console.print(f"[{COLOURS[run.status]}]{run.source} {run.status}:[/] {run.error}", highlight=False,
                          soft_wrap=True)
        for error in run.errors:
            console.print(f"[yellow]{run.source}:[/] {error}", highlight=False, soft_wrap=True)
