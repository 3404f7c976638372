"""`cspbill payments`: bank statements in, matched to invoices, and the review queue.

``import FILE`` (camt.053, camt.054 or MT940, told by content) stores each file once and matches its new entries;
``list`` and ``queue`` show entries with score and reasons; ``accept``, ``reassign`` and ``unapply`` are finance's
decisions (audited); ``open-items`` lists what customers still owe with each invoice's creditor reference (RF…);
``rate`` prints the straight-through rate per month; ``overdue`` lists invoices past due with the dunning level
reached; ``remind`` sends the reminders due (e-mail with a PDF letter, once per invoice and level) and
``reminders`` lists them; ``export`` sends applied payments to the ERP (once, through an outbox); ``statement``
writes a customer's statement of account as PDF; ``days-to-pay`` prints the average days from issue to payment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, fail, state
from desk.exit_codes import ExitCode
from desk.progress import progress_bars
from services.payments import (
    accept,
    days_to_pay,
    export_payments,
    import_statement,
    list_entries,
    open_items,
    overdue_items,
    reassign,
    reminder_list,
    send_reminders,
    statement_of_account,
    straight_through,
    unapply,
)

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
TENANT = typer.Option(None, "--tenant", help="Only this legal entity.")


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _entries_table(title: str, entries: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("entry", "tenant", "booked", "amount", "payer", "status", "score", "invoices", "reasons"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e["id"]), e["tenant"], e["booking_date"], f"{e['amount']} {e['currency']}",
                      e["payer"] or "", e["status"], str(e["score"]), ", ".join(e["invoices"]),
                      "; ".join(e["reasons"]))
    return table


def register(app: typer.Typer) -> None:
    payments = typer.Typer(help="Bank statements in, payments matched to invoices, the review queue.",
                           no_args_is_help=True)
    app.add_typer(payments, name="payments")

    @payments.command("import")
    def import_command(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="A camt.053, camt.054 or MT940 statement file."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """Import a statement (the whole file or nothing; the same file twice changes nothing) and match it."""
        try:
            data = file.read_bytes()
        except OSError as exc:
            fail(f"{file}: cannot read: {exc.strerror}", ExitCode.ERROR)
        with progress_bars(f"payments import {file.name}") as counted:
            result = import_statement(state(ctx).settings(), state(ctx).actor(as_user), data, file.name,
                                      state(ctx).clock(), counted)
        if as_json:
            _dump({**result.__dict__, "sentence": result.sentence})
            return
        typer.echo(result.sentence)

    @payments.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = TENANT,
        status: str = typer.Option(None, "--status", help="applied, review or unmatched."),
        month: str = typer.Option(None, "--month", help="Only entries booked in this month (YYYY-MM)."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """Bank entries with what the matcher proposed or applied."""
        entries = list_entries(state(ctx).settings(), state(ctx).actor(as_user), tenant, status, month)
        if as_json:
            _dump(entries)
            return
        Console().print(_entries_table("bank entries", entries))

    @payments.command("queue")
    def queue_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """The review queue: entries below the auto-apply score, and entries nothing matched."""
        entries = list_entries(state(ctx).settings(), state(ctx).actor(as_user), tenant, queue=True)
        if as_json:
            _dump(entries)
            return
        Console().print(_entries_table("review queue", entries))

    @payments.command("accept")
    def accept_command(
        ctx: typer.Context,
        entry: int = typer.Argument(..., help="The bank entry id, from `cspbill payments queue`."),
        as_user: str = AS_USER,
    ) -> None:
        """Apply the matcher's proposal for a queued entry (finance; learns the payer)."""
        typer.echo(accept(state(ctx).settings(), state(ctx).actor(as_user), entry, state(ctx).clock()).sentence)

    @payments.command("reassign")
    def reassign_command(
        ctx: typer.Context,
        entry: int = typer.Argument(..., help="The bank entry id."),
        invoices: list[str] = typer.Option(..., "--invoice", help="An invoice number the entry pays (repeat)."),
        as_user: str = AS_USER,
    ) -> None:
        """Apply a queued entry to the invoices named (finance; learns the payer)."""
        decision = reassign(state(ctx).settings(), state(ctx).actor(as_user), entry, invoices, state(ctx).clock())
        typer.echo(decision.sentence)

    @payments.command("unapply")
    def unapply_command(
        ctx: typer.Context,
        entry: int = typer.Argument(..., help="The bank entry id."),
        reason: str = typer.Option(..., "--reason", help="Why the application is taken back (audited)."),
        as_user: str = AS_USER,
    ) -> None:
        """Take an entry's applications back: the invoices are open again, the entry back in the queue."""
        decision = unapply(state(ctx).settings(), state(ctx).actor(as_user), entry, reason, state(ctx).clock())
        typer.echo(decision.sentence)

    @payments.command("open-items")
    def open_items_command(
        ctx: typer.Context,
        tenant: str = TENANT,
        customer: str = typer.Option(None, "--customer", help="Only customers whose name contains this."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """Invoices still open per customer, with the creditor reference (RF…) a payment should quote."""
        items = open_items(state(ctx).settings(), state(ctx).actor(as_user), tenant, customer)
        if as_json:
            _dump(items)
            return
        table = Table(title="open items")
        for column in ("tenant", "customer", "invoice", "issued", "gross", "paid", "open"):
            table.add_column(column)
        table.add_column("reference", no_wrap=True)
        for i in items:
            table.add_row(i["tenant"], i["customer"], i["invoice"], i["issue_date"] or "",
                          f"{i['gross']} {i['currency']}", i["paid"], i["open"], i["reference_printed"])
        Console().print(table)

    @payments.command("rate")
    def rate_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Straight-through rate per month: credit entries the matcher applied without a person."""
        rows = straight_through(state(ctx).settings(), state(ctx).actor(as_user), tenant)
        if as_json:
            _dump(rows)
            return
        for row in rows:
            typer.echo(f"{row['tenant']} {row['month']}: {row['automatic']} of {row['entries']} applied straight "
                       f"through ({row['rate']:.1%})")

    @payments.command("demo-statement")
    def demo_statement_command(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="The billing month whose open invoices get paid (YYYY-MM)."),
        out: Path = typer.Option(..., "--out", help="Where to write the camt.053 file."),
        tenant: str = TENANT,
        as_user: str = AS_USER,
    ) -> None:
        """Write a camt.053 statement paying the open invoices with realistic noise (for demos and trials)."""
        from services.demo import demo_statement

        data = demo_statement(state(ctx).settings(), state(ctx).actor(as_user), month, tenant, state(ctx).clock())
        out.write_bytes(data)
        typer.echo(f"{out}: camt.053 with {data.count(b'<Ntry>')} entries")

    @payments.command("overdue")
    def overdue_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Invoices past their due date by age, with the reminder level reached (config payments.dunning)."""
        rows = overdue_items(state(ctx).settings(), state(ctx).actor(as_user), tenant, state(ctx).clock())
        if as_json:
            _dump(rows)
            return
        table = Table(title="overdue invoices")
        for column in ("tenant", "customer", "invoice", "due", "days late", "open", "level", "reminder"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["tenant"], r["customer"], r["invoice"], r["due_date"], str(r["days"]),
                          f"{r['open']} {r['currency']}", str(r["level"] or "-"), r["text"] or "")
        Console().print(table)

    @payments.command("export")
    def export_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Send applied payments to the ERP (config payments.erp), each once; a crashed run's are looked up first."""
        summaries = export_payments(state(ctx).settings(), state(ctx).actor(as_user), tenant,
                                    clock=state(ctx).clock())
        if as_json:
            _dump([{**s.__dict__, "sentence": s.sentence} for s in summaries])
        else:
            for summary in summaries:
                typer.echo(summary.sentence)
                for error in summary.errors:
                    typer.echo(f"  {error}")
        if any(s.outcomes.get("failed") for s in summaries):
            raise typer.Exit(ExitCode.FAILED)

    @payments.command("remind")
    def remind_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER, as_json: bool = JSON) -> None:
        """Send the reminders due today by e-mail with the letter as PDF (config payments.reminders), each once."""
        summaries = send_reminders(state(ctx).settings(), state(ctx).actor(as_user), tenant, clock=state(ctx).clock())
        if as_json:
            _dump([{**s.__dict__, "sentence": s.sentence} for s in summaries])
            return
        for summary in summaries:
            typer.echo(summary.sentence)

    @payments.command("reminders")
    def reminders_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER,
                          as_json: bool = JSON) -> None:
        """Reminders sent or waiting, newest first."""
        rows = reminder_list(state(ctx).settings(), state(ctx).actor(as_user), tenant)
        if as_json:
            _dump(rows)
            return
        table = Table(title="reminders")
        for column in ("id", "tenant", "invoice", "customer", "level", "to", "open", "status", "error"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["id"]), str(r["tenant"]), str(r["invoice"]), str(r["customer"]), str(r["level"]),
                          str(r["recipient"]), f"{r['open']} {r['currency']}", str(r["status"]), str(r["error"] or ""))
        Console().print(table)

    @payments.command("statement")
    def statement_command(
        ctx: typer.Context,
        tenant: str = typer.Option(..., "--tenant", help="The legal entity."),
        customer: str = typer.Option(..., "--customer", help="The customer's id, ERP reference or exact name."),
        out: Path = typer.Option(None, "--out", help="The PDF file (default: its own name in the current folder)."),
        as_user: str = AS_USER,
    ) -> None:
        """Write a customer's statement of account (open items, payments, balance) as PDF."""
        name, pdf = statement_of_account(state(ctx).settings(), state(ctx).actor(as_user), tenant, customer,
                                         state(ctx).clock())
        path = out or Path(name)
        path.write_bytes(pdf)
        typer.echo(f"{path}: statement of account, {len(pdf)} bytes")

    @payments.command("days-to-pay")
    def days_to_pay_command(ctx: typer.Context, tenant: str = TENANT, as_user: str = AS_USER,
                            as_json: bool = JSON) -> None:
        """Average days from an invoice's issue to its payment, per month of payment."""
        rows = days_to_pay(state(ctx).settings(), state(ctx).actor(as_user), tenant)
        if as_json:
            _dump(rows)
            return
        for row in rows:
            typer.echo(f"{row['tenant']} {row['month']}: {row['payments']} payments, on average "
                       f"{row['average_days']} days after the invoice")
