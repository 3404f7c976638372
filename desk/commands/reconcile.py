"""`cspbill reconcile`: compare vendor snapshots, desk mutations and billed lines; list discrepancies and margins."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.desk import ReconcileReport, reconcile, resolve_discrepancy


def plain(value: Any) -> Any:
    """Decimals, dates and instants as JSON strings, through lists and dicts."""
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value) if not isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def as_json(report: ReconcileReport) -> dict[str, Any]:
    return {
        "month": report.month,
        "as_of": report.as_of.isoformat(),
        "raised": report.raised,
        "provisioned": report.provisioned,
        "closed": report.closed,
        "reopened": report.reopened,
        "checked": report.checked,
        "totals": [{**plain(dataclasses.asdict(t)), "margin": str(t.margin)} for t in report.totals],
        "open_discrepancies": report.open_count,
        "subscriptions": [{**plain(dataclasses.asdict(s)), "margin": str(s.margin)} for s in report.subscriptions],
        "discrepancies": [plain(dataclasses.asdict(d)) for d in report.discrepancies],
    }


def _print(report: ReconcileReport, every_subscription: bool) -> None:
    console = Console()
    console.print(f"Reconciliation {report.month} (as of {report.as_of:%Y-%m-%d %H:%M} UTC): {report.checked} "
                  f"subscriptions compared", highlight=False, soft_wrap=True)
    totals = Table(title="Cost, charge and margin of the month")
    for column in ("tenant", "currency", "subscriptions", "vendor cost", "charged", "margin"):
        totals.add_column(column, justify="left" if column in ("tenant", "currency") else "right")
    for t in report.totals:
        totals.add_row(t.tenant, t.currency, str(t.subscriptions), str(t.vendor_cost), str(t.billed_amount),
                       str(t.margin))
    console.print(totals)
    listed = "compared" if every_subscription else "with a finding of this run (--all lists every one)"
    console.print(f"{len(report.subscriptions)} subscriptions {listed}", highlight=False, soft_wrap=True)
    subs = Table()
    for column in ("sub", "tenant", "customer", "product", "vendor", "desk", "billed", "cost", "charged", "margin",
                   "flags"):
        subs.add_column(column, justify="right" if column in ("cost", "charged", "margin", "flags") else "left")
    for s in report.subscriptions:
        end = s.segments[-1] if s.segments else None
        subs.add_row(str(s.subscription_id), s.tenant, s.customer, s.product,
                     *(str(v) if v is not None else "-" for v in (end.vendor, end.desk, end.billed) if end),
                     f"{s.vendor_cost} {s.currency}", f"{s.billed_amount}", f"{s.margin}", str(len(s.findings)))
    console.print(subs)
    shown = (f"newest {len(report.discrepancies)} of {report.open_count}; `cspbill discrepancies list` pages them, "
             if report.open_count > len(report.discrepancies) else "")
    flags = Table(title=f"Open discrepancies ({shown}{report.raised} new, {report.closed} closed, {report.reopened} "
                        f"reopened, {report.provisioned} mutations provisioned)")
    for column in ("id", "tenant", "kind", "days", "at stake", "what"):
        flags.add_column(column, no_wrap=column in ("kind", "days"))
    for d in report.discrepancies:
        span = f"{d.day or ''}..{d.last_day}" if d.last_day and d.last_day != d.day else str(d.day or "")
        flags.add_row(str(d.id), d.tenant, d.kind, span,
                      "" if d.amount is None else f"{d.amount} {d.currency}", d.sentence)
    console.print(flags)


def register(app: typer.Typer) -> None:
    @app.command("reconcile")
    def reconcile_command(
        ctx: typer.Context,
        month: str = typer.Option(None, "--month", help="YYYY-MM (default: the current month)."),
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        resolve: int = typer.Option(None, "--resolve", help="Resolve this discrepancy id (with --note) instead."),
        note: str = typer.Option(None, "--note", help="What was done about the discrepancy."),
        username: str = typer.Option(None, "--as", help=AS_USER_HELP),
        json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
        every_subscription: bool = typer.Option(False, "--all",
                                                help="List every subscription compared, not only those with a "
                                                     "finding of this run."),
    ) -> None:
        """Compare vendor snapshots, desk mutations and billed lines per subscription and day; store discrepancies."""
        cli = state(ctx)
        settings = cli.settings()
        who = cli.actor(username)
        if resolve is not None:
            done = resolve_discrepancy(settings, who, resolve, note or "", cli.clock())
            Console().print(f"discrepancy {done.id}: {done.status} by {done.resolved_by}", highlight=False,
                            soft_wrap=True)
            return
        report = reconcile(settings, who, cli.clock(), month=month, tenant=tenant,
                           every_subscription=every_subscription)
        if json_output:
            typer.echo(json.dumps(as_json(report), indent=2))
        else:
            _print(report, every_subscription)
