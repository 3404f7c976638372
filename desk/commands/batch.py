"""`cspbill batch`: month-end invoice batches: build, show, findings, acknowledge, explain, approve, reject, list.

Every subcommand calls one use case of ``services.batches`` and prints its result (``--json`` for machines).
Commands act as the person signed in with `cspbill login` (``--as USER`` picks another signed-in person);
roles and legal entities come from config.yaml, and the services check them.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from desk.progress import progress_bars
from services.batches import (
    acknowledge_finding,
    approve_batch,
    batch_review_findings,
    batch_summary,
    build_batch,
    explain_line,
    list_batches,
    reject_batch,
)

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
TENANT = typer.Option(..., "--tenant", help="Legal entity code, e.g. nl-bv.")
MONTH = typer.Option(..., "--month", help="Billing month YYYY-MM.")
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
ENGINE = typer.Option("bulk", "--engine", help="How licences are rated: bulk (vectorised where it applies) or "
                                               "scalar (the reference engine for every subscription; same lines).")
DASK = typer.Option(None, "--dask", metavar="tcp://HOST:8786",
                    help="Rate the customers in partitions on this Dask scheduler's cluster (overrides "
                         "compute.dask_scheduler); same lines as in this process.")
SHOWN_CHANGES = 25


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _totals_table(title: str, totals: dict[str, Any]) -> Table:
    table = Table(title=title)
    for column in ("currency", "VAT", "taxable", "VAT amount"):
        table.add_column(column, justify="right" if column != "currency" else "left")
    for currency, entry in totals.items():
        for name, rate in entry.get("by_rate", {}).items():
            table.add_row(currency, name, rate["taxable"], rate["vat"])
        table.add_row(f"[bold]{currency}[/]", "total", f"[bold]{entry['net']}[/]", f"[bold]{entry['vat']}[/]")
        table.add_row("", "gross", f"[bold]{entry['gross']}[/]", "")
    return table


def _changes_table(title: str, changes: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("name", "status", "now", "previous", "delta"):
        table.add_column(column, justify="left" if column in ("name", "status") else "right")
    for change in changes[:SHOWN_CHANGES]:
        table.add_row(change["name"], change["status"], change["amount"], change["previous"], change["delta"])
    if len(changes) > SHOWN_CHANGES:
        table.add_row(f"… {len(changes) - SHOWN_CHANGES} more (use --json)", "", "", "", "")
    return table


def _credit_notes_table(notes: list[dict[str, Any]]) -> Table:
    """Credit notes (type 381): their number, customer, amount and the invoice each corrects (the first named is
    the one its document refers to)."""
    table = Table(title="credit notes (negative total, type 381)")
    for column in ("credit note", "customer", "gross", "corrects"):
        table.add_column(column, justify="right" if column == "gross" else "left")
    for note in notes:
        refs = ", ".join(f"{ref['number']} of {ref['issue_date']}" for ref in note["corrects"]) or "nothing issued"
        table.add_row(note["number"] or "(numbered at approval)", note["customer"], note["gross"], refs)
    return table


def _findings_table(findings: list[dict[str, Any]]) -> Table:
    """The findings approval weighs: id (for `batch acknowledge`), kind, subject, what, and who accepted it."""
    table = Table(title="findings before approval")
    for column in ("id", "kind", "subject", "what", "state"):
        table.add_column(column)
    for f in findings:
        ack = f["acknowledged"]
        state = ("[red]hard block: complete the customer[/]" if f["hard"] else
                 f"acknowledged by {ack['by']}: {ack['reason']}" if ack else "[red]blocks: acknowledge it[/]")
        table.add_row(f["id"], f["title"], f["subject"] or f["customer"], f["sentence"], state)
    return table


def _show(summary: dict[str, Any], rows: int | None = None) -> None:
    console = Console()
    batch = summary["batch"]
    console.print(f"[bold]batch {batch['tenant']} {batch['month']}[/] #{batch['id']} status [bold]{batch['status']}"
                  f"[/] revision {batch['revision']}: {batch['invoices']} invoices, {batch['lines']} lines; built by "
                  f"{batch['built_by']}" + (f", last changed by {batch['changed_by']}" if batch["changed_by"] else "")
                  + (f", approved by {batch['approved_by']}" if batch["approved_by"] else ""), highlight=False)
    if batch["rejection_reason"]:
        console.print(f"[yellow]rejected by {batch['rejected_by']}:[/] {batch['rejection_reason']}", highlight=False)
    console.print(_totals_table("totals per currency and VAT rate", batch["totals"]))
    if rows is None:  # with --rows the summary leaves the per-customer totals out, as the batch page does
        customers = Table(title="per customer")
        for column in ("customer", "currency", "invoices", "net", "VAT", "gross"):
            customers.add_column(column, justify="left" if column in ("customer", "currency") else "right")
        for entry in summary["customers"][:SHOWN_CHANGES]:
            customers.add_row(entry["name"], entry["currency"], str(entry["invoices"]), entry["net"], entry["vat"],
                              entry["gross"])
        console.print(customers)
    if summary["credit_notes"]:
        console.print(_credit_notes_table(summary["credit_notes"]))
    diff = summary["diff"]
    against = diff["previous_month"] or "nothing (first batch)"
    for per in ("customers", "subscriptions"):
        changes, count = diff[per], diff[f"{per}_changed"]
        cut = "" if rows is None else f"the {len(changes)} largest of "
        console.print(_changes_table(f"{per}: {cut}{count} changes against {against}", changes))
    for item in summary["discrepancies"]:
        console.print(f"[yellow]discrepancy {item['id']}[/] ({item['kind']}): {item['sentence']}", highlight=False)
    for problem in summary["problems"]:
        console.print(f"[red]not billed:[/] {problem}", highlight=False)
    for finding in summary["blocking"]:
        console.print(f"[red]blocks approval:[/] customer {finding['customer_id']} ({finding['customer']}) "
                      f"{finding['field']}: {finding['sentence']}", highlight=False)
    if summary["findings"]:
        console.print(_findings_table(summary["findings"]))


def register(app: typer.Typer) -> None:
    batch_app = typer.Typer(help="Month-end invoice batches: build, show, findings, acknowledge, explain, approve, "
                                 "reject, list.",
                            no_args_is_help=True)
    app.add_typer(batch_app, name="batch")

    @batch_app.command("build")
    def build_command(ctx: typer.Context, tenant: str = TENANT, month: str = MONTH, as_user: str = AS_USER,
                      as_json: bool = JSON, engine: str = ENGINE, dask: str | None = DASK) -> None:
        """Build (or rebuild) the draft batch of a legal entity and month; safe to run again."""
        cli = state(ctx)
        with progress_bars(f"batch build {tenant} {month}") as counted:
            report = build_batch(cli.settings(), tenant, month, cli.actor(as_user), cli.clock(), counted, engine,
                                 dask)
        if as_json:
            _dump(report.__dict__)
            return
        console = Console()
        verb = "built" if report.created else "rebuilt"
        console.print(f"batch {tenant} {month} #{report.batch_id} {verb} ({report.status}): {report.invoices} "
                      f"invoices, {report.lines} lines (+{report.added} ~{report.changed} -{report.removed})",
                      highlight=False)
        console.print(_totals_table("totals", report.totals))
        for problem in report.problems:
            console.print(f"[red]not billed:[/] {problem}", highlight=False)

    @batch_app.command("show")
    def show_command(ctx: typer.Context, tenant: str = TENANT, month: str = MONTH, as_user: str = AS_USER,
                     rows: int | None = typer.Option(
                         None, "--rows", min=1, help="Only the N largest changes per customer and per subscription, "
                         "as the batch page lists them (read from the figures the build stored, so quick at any "
                         "size), without the per-customer totals and credit notes."),
                     as_json: bool = JSON) -> None:
        """Totals, per customer, changes against last month, open discrepancies."""
        summary = batch_summary(state(ctx).settings(), tenant, month, state(ctx).actor(as_user), rows=rows)
        if as_json:
            _dump(summary)
        else:
            _show(summary, rows)

    @batch_app.command("findings")
    def findings_command(ctx: typer.Context,
                         tenant: str = typer.Argument(..., metavar="TENANT", help="Legal entity code, e.g. nl-bv."),
                         month: str = typer.Argument(..., metavar="MONTH", help="Billing month YYYY-MM."),
                         as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """What blocks approval: missing master data, negative margins, mutations not provisioned, vendor counts."""
        findings = batch_review_findings(state(ctx).settings(), tenant, month, state(ctx).actor(as_user))
        if as_json:
            _dump(findings)
            return
        blocking = sum(1 for f in findings if f["blocking"])
        Console().print(_findings_table(findings))
        typer.echo(f"batch {tenant} {month}: {len(findings)} findings, {blocking} blocking approval")

    @batch_app.command("acknowledge")
    def acknowledge_command(ctx: typer.Context,
                            tenant: str = typer.Argument(..., metavar="TENANT", help="Legal entity code."),
                            month: str = typer.Argument(..., metavar="MONTH", help="Billing month YYYY-MM."),
                            finding: str = typer.Argument(..., metavar="FINDING_ID",
                                                          help="The id `cspbill batch findings` shows."),
                            reason: str = typer.Option(..., "--reason", help="Why it may be approved as it is."),
                            as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Acknowledge one finding with a reason, so it no longer blocks approval (recorded and audited)."""
        cli = state(ctx)
        done = acknowledge_finding(cli.settings(), tenant, month, finding, reason, cli.actor(as_user), cli.clock())
        if as_json:
            _dump(done.__dict__)
            return
        typer.echo(f"batch {tenant} {month} finding {done.finding_id} ({done.kind}) acknowledged by "
                   f"{done.acknowledged_by}: {done.reason}")

    @batch_app.command("explain")
    def explain_command(ctx: typer.Context,
                        line: str = typer.Argument(..., metavar="LINE_KEY_OR_ID", help="A line key or line id."),
                        as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Why a line is what it is: inputs, formula, unrounded amount, rounding."""
        data = explain_line(state(ctx).settings(), line, state(ctx).actor(as_user))
        if as_json:
            _dump(data)
            return
        lineage = data["lineage"]
        console = Console()
        invoice = data["invoice"]["number"] or data["invoice"]["invoice_key"]
        console.print(f"[bold]{data['line_key']}[/] (line {data['id']}, batch {data['batch']['month']} "
                      f"{data['batch']['status']}, invoice {invoice})", highlight=False)
        console.print(f"{data['description']}", highlight=False)
        rows = [("amount", f"{data['amount']} {data['currency']}"), ("kind", data["kind"]),
                ("period", f"{data['period_from']} .. {data['period_to']} (inclusive)"),
                ("formula", lineage.get("formula")), ("unrounded", lineage.get("unrounded")),
                ("rounding", lineage.get("rounding")), ("convention", lineage.get("convention")),
                ("price", lineage.get("price_version")), ("fx", lineage.get("details", {}).get("fx")),
                ("inputs", ", ".join(map(str, lineage.get("input_ids", [])))),
                ("VAT", f"{data['vat_category']} {data['vat_rate']}%"), ("reason", data["reason_code"]),
                ("corrects", data["corrects_line_key"])]
        if "correction" in lineage:
            rows.append(("correction", lineage["correction"]["formula"]))
        for name, value in rows:
            if value not in (None, ""):
                console.print(f"  {name:<11} {value}", highlight=False)

    @batch_app.command("approve")
    def approve_command(ctx: typer.Context, tenant: str = TENANT, month: str = MONTH, as_user: str = AS_USER,
                        as_json: bool = JSON) -> None:
        """Approve a draft batch (four-eyes) and number its invoices."""
        cli = state(ctx)
        who = cli.actor(as_user)
        report = approve_batch(cli.settings(), tenant, month, who, cli.clock())
        if as_json:
            _dump(report.__dict__)
            return
        numbered = f"numbered {report.first_number}..{report.last_number}" if report.invoices else "nothing to number"
        if report.first_credit_note:
            numbered += f", credit notes {report.first_credit_note}..{report.last_credit_note}"
        credit = f" ({report.credit_notes} credit notes)" if report.credit_notes else ""
        typer.echo(f"batch {tenant} {month} approved by {who.username}: {report.invoices} invoices{credit} {numbered}, "
                   f"issued {report.issue_date}")

    @batch_app.command("reject")
    def reject_command(ctx: typer.Context, tenant: str = TENANT, month: str = MONTH,
                       reason: str = typer.Option(..., "--reason", help="Why the batch goes back."),
                       as_user: str = AS_USER) -> None:
        """Send a draft batch back with a reason; it stays a draft."""
        cli = state(ctx)
        who = cli.actor(as_user)
        report = reject_batch(cli.settings(), tenant, month, who, reason, cli.clock())
        typer.echo(f"batch {tenant} {month} rejected by {who.username}: {report.reason}")

    @batch_app.command("list")
    def list_command(ctx: typer.Context, tenant: str = typer.Option(None, "--tenant", help="Only this entity."),
                     page: int = typer.Option(1, "--page", min=1), as_user: str = AS_USER,
                     as_json: bool = JSON) -> None:
        """Batches, newest month first."""
        result = list_batches(state(ctx).settings(), state(ctx).actor(as_user), tenant, page=page)
        if as_json:
            _dump({"items": result.items, "total": result.total, "page": result.page, "pages": result.pages})
            return
        table = Table(title=f"batches (page {result.page} of {result.pages})")
        for column in ("tenant", "month", "status", "invoices", "built by", "approved by"):
            table.add_column(column)
        for item in result.items:
            table.add_row(item["tenant"], item["month"], item["status"], str(item["invoices"]), item["built_by"],
                          item["approved_by"] or "")
        Console().print(table)
