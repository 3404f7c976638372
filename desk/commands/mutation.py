"""`cspbill mutation add|list|show|cancel`: service-desk licence changes, validated against the NCE rules before saving,
with their provisioning at the vendor where the source opted in."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, day_option, fail, state
from services.desk import (
    MutationRequest,
    MutationView,
    add_mutation,
    cancel_mutation,
    list_mutations,
    parse_seats,
    show_mutation,
)

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)


def _seats(value: str | None, name: str, *, signed: bool = False) -> Decimal | None:
    """A seat count (or a signed change) as typed, refused in the same words as the desk's form."""
    try:
        return parse_seats(value, signed=signed)
    except ValueError as exc:
        fail(f"{name}: {exc}")


def _as_json(item: MutationView) -> dict[str, object]:
    return {key: (str(value) if isinstance(value, (Decimal, dt.date, dt.datetime)) else value)
            for key, value in item.__dict__.items()}


def _vendor(item: MutationView) -> str:
    """Provisioning at the vendor: its status, and the vendor's refusal or the last error."""
    if item.vendor_status is None:
        return ""
    return f"{item.vendor_status}: {item.vendor_reason}" if item.vendor_reason else item.vendor_status


def _print(items: list[MutationView]) -> None:
    table = Table(title="Mutations")
    for column in ("id", "tenant", "customer", "sub", "product", "kind", "effective", "qty", "ticket", "status",
                   "scheduled for", "by", "vendor"):
        table.add_column(column)
    for m in items:
        quantity = m.target_product or ("" if m.new_quantity is None else f"{m.new_quantity} ({m.delta:+})")
        table.add_row(str(m.id), m.tenant, m.customer, str(m.subscription_id), m.product, m.kind,
                      str(m.effective_date), quantity, m.ticket_ref, m.status, str(m.scheduled_for or ""),
                      m.created_by, _vendor(m))
    Console().print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Service-desk licence mutations: add, list, cancel.", no_args_is_help=True)
    app.add_typer(group, name="mutation")

    @group.command("add")
    def add_command(
        ctx: typer.Context,
        subscription: int = typer.Option(..., "--subscription", "-s", help="Ledger subscription id."),
        ticket: str = typer.Option(..., "--ticket", "-t", help="Service-desk ticket reference."),
        quantity: str = typer.Option(None, "--quantity", "-q", help="The new total number of seats."),
        delta: str = typer.Option(None, "--delta", "-d", help="Seats to add (positive) or remove (negative)."),
        cancel: bool = typer.Option(False, "--cancel", help="Cancel the subscription."),
        upgrade_to: str = typer.Option(None, "--upgrade-to",
                                        help="Target of an upgrade (Partner Center: catalog item id or title, "
                                             "checked against the subscription's transition eligibilities)."),
        effective: str = typer.Option(None, "--effective", "-e", help="Effective date YYYY-MM-DD (default: today)."),
        customer: int = typer.Option(None, "--customer", help="Customer id (checked against the subscription)."),
        reason: str = typer.Option(None, "--reason", help="Free text for the audit trail."),
        schedule: bool = typer.Option(False, "--schedule-if-late",
                                      help="Outside the 168-hour window, schedule a reduction for the renewal "
                                           "instead of refusing it."),
        username: str = AS_USER,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Validate and save a mutation (refused with the rule and the next allowed date when it breaks one)."""
        cli = state(ctx)
        settings, clock = cli.settings(), cli.clock()
        request = MutationRequest(
            subscription_id=subscription, effective_date=day_option("--effective", effective) or clock.now().date(),
            ticket_ref=ticket, new_quantity=_seats(quantity, "--quantity"), delta=_seats(delta, "--delta", signed=True),
            cancel=cancel, target_product=upgrade_to, reason=reason, customer_id=customer, schedule_if_late=schedule,
        )
        saved = add_mutation(settings, cli.actor(username), request, clock)
        if as_json:
            typer.echo(json.dumps(_as_json(saved), indent=2))
            return
        when = f", scheduled for {saved.scheduled_for}" if saved.scheduled_for else ""
        Console().print(f"mutation {saved.id} saved: {saved.kind} of sub {saved.subscription_id} "
                        f"({saved.product}) effective {saved.effective_date}, status {saved.status}{when}",
                        highlight=False, soft_wrap=True)

    @group.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        subscription: int = typer.Option(None, "--subscription", "-s", help="Only this subscription."),
        status: str = typer.Option(None, "--status", help="open, scheduled, provisioned, refused or cancelled."),
        month: str = typer.Option(None, "--month", help="Effective in this month (YYYY-MM)."),
        username: str = AS_USER,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List mutations of the legal entities you may see."""
        cli = state(ctx)
        settings = cli.settings()
        items = list_mutations(settings, cli.actor(username), tenant, subscription, status, month)
        if as_json:
            typer.echo(json.dumps([_as_json(m) for m in items], indent=2))
        else:
            _print(items)

    @group.command("show")
    def show_command(ctx: typer.Context, mutation_id: int = typer.Argument(..., help="Mutation id."),
                     username: str = AS_USER,
                     as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """One mutation with its provisioning at the vendor (status, and the vendor's reason when refused)."""
        cli = state(ctx)
        item = show_mutation(cli.settings(), cli.actor(username), mutation_id)
        if as_json:
            typer.echo(json.dumps(_as_json(item), indent=2))
            return
        for name, value in _as_json(item).items():
            Console().print(f"{name:>15}: {'' if value is None else value}", highlight=False, soft_wrap=True)

    @group.command("cancel")
    def cancel_command(ctx: typer.Context, mutation_id: int = typer.Argument(..., help="Mutation id."),
                       username: str = AS_USER) -> None:
        """Withdraw a pending mutation (open or scheduled, not yet sent to the vendor, not billed); audited."""
        cli = state(ctx)
        settings = cli.settings()
        done = cancel_mutation(settings, cli.actor(username), mutation_id, cli.clock())
        Console().print(f"mutation {done.id} withdrawn: {done.kind} of sub {done.subscription_id} ({done.product}) "
                        f"effective {done.effective_date}, status {done.status} (by {done.cancelled_by})",
                        highlight=False, soft_wrap=True)
