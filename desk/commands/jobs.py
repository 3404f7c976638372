"""`cspbill jobs`: the scheduled jobs, their next fire time, and their last runs."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from desk.context import state
from services.operations import job_specs, next_fire_times, recent_runs


def register(app: typer.Typer) -> None:
    @app.command("jobs")
    def jobs_command(
        ctx: typer.Context,
        limit: int = typer.Option(20, help="How many recent runs to show."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    ) -> None:
        """Scheduled jobs (from config) with their next fire time, and the most recent runs."""
        settings = state(ctx).settings()
        nexts = next_fire_times(settings)
        runs = recent_runs(settings, limit)
        if as_json:
            typer.echo(json.dumps({
                "jobs": [{"id": s.id, "cron": s.cron, "next": nexts[s.id].isoformat(), "description": s.description}
                         for s in job_specs(settings)],
                "runs": [{"id": r.id, "job": r.job_id, "scheduled_for": r.scheduled_for and r.scheduled_for.isoformat(),
                          "started_at": r.started_at.isoformat(), "outcome": r.outcome, "counts": r.counts,
                          "error": r.error} for r in runs],
            }, indent=2))
            return
        console = Console()
        jobs = Table(title=f"Scheduled jobs ({settings.schedule.timezone})")
        for column in ("job", "cron", "next run", "what"):
            jobs.add_column(column)
        for spec in job_specs(settings):
            jobs.add_row(spec.id, spec.cron, nexts[spec.id].strftime("%Y-%m-%d %H:%M %Z"), spec.description)
        console.print(jobs)
        table = Table(title="Recent runs")
        for column in ("job", "fire time", "started", "outcome", "counts / error"):
            table.add_column(column)
        for run in runs:
            table.add_row(run.job_id, run.scheduled_for and run.scheduled_for.strftime("%Y-%m-%d %H:%M"),
                          run.started_at.strftime("%Y-%m-%d %H:%M:%S"), run.outcome,
                          run.error or json.dumps(run.counts))
        console.print(table)
