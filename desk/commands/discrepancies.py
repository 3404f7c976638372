"""`cspbill discrepancies list|acknowledge|resolve|assign`: the findings of reconcile and sync, from the shell.

The same services as the web desk's discrepancy page: the list with its filters, order, counts per kind and the
amount at stake; acknowledging or resolving several findings with one note; giving them an owner.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from desk.commands.reconcile import plain
from desk.context import AS_USER_HELP, state
from services.desk import (
    DiscrepancyView,
    FindingList,
    FindingQuery,
    act_on_discrepancies,
    assign_discrepancies,
    find_discrepancies,
)

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
IDS = typer.Argument(..., help="Discrepancy ids (one or more).")
NOTE = typer.Option(..., "--note", help="What was done or found (one note for all).")


def as_json(found: FindingList) -> dict[str, Any]:
    return {
        "matching": found.matching,
        "counts": found.counts,
        "totals": {currency: str(amount) for currency, amount in found.totals.items()},
        "discrepancies": [_item(d) for d in found.page.items],
        "next_offset": found.page.next_offset,
    }


def _item(d: DiscrepancyView) -> dict[str, Any]:
    return {**plain(dataclasses.asdict(d)), "days": d.days}


def _amount(d: DiscrepancyView) -> str:
    return "" if d.amount is None else f"{d.amount} {d.currency}"


def _print(found: FindingList) -> None:
    console = Console()
    table = Table(title=f"Discrepancies ({found.matching} matching)")
    for column in ("id", "tenant", "kind", "customer", "from", "to", "days", "at stake", "status", "owner", "what"):
        table.add_column(column, justify="right" if column in ("id", "days", "at stake") else "left")
    for d in found.page.items:
        status = d.status + (f" (ack {d.acknowledged_by})" if d.acknowledged_by and d.status == "open" else "")
        table.add_row(str(d.id), d.tenant, d.kind, d.customer or "", str(d.day or ""), str(d.last_day or ""),
                      str(d.days or ""), _amount(d), status, d.owner or "", d.sentence)
    console.print(table)
    counts = ", ".join(f"{kind} {n}" for kind, n in found.counts.items()) or "none"
    totals = ", ".join(f"{amount} {currency}" for currency, amount in found.totals.items()) or "0"
    console.print(f"per kind: {counts}; at stake: {totals}", highlight=False, soft_wrap=True)
    if found.page.next_offset is not None:
        console.print(f"more: --offset {found.page.next_offset}", highlight=False)


def _done(items: list[DiscrepancyView]) -> None:
    for d in items:
        extra = (f"resolved by {d.resolved_by}" if d.status == "resolved"
                 else f"acknowledged by {d.acknowledged_by}" if d.acknowledged_by else "open")
        owner = f", owner {d.owner}" if d.owner else ""
        Console().print(f"discrepancy {d.id}: {d.status}, {extra}{owner}", highlight=False, soft_wrap=True)


def _act(ctx: typer.Context, ids: list[int], action: str, note: str, username: str | None) -> None:
    cli = state(ctx)
    _done(act_on_discrepancies(cli.settings(), cli.actor(username), ids, action, note, cli.clock()))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Findings of reconcile and sync: list, acknowledge, resolve, assign.",
                        no_args_is_help=True)
    app.add_typer(group, name="discrepancies")

    @group.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        kind: str = typer.Option(None, "--kind", help="Only this kind, e.g. vendor_change_unexplained."),
        status: str = typer.Option("open", "--status", help="open, resolved or all."),
        customer: str = typer.Option(None, "--customer", help="Part of the customer's name."),
        owner: str = typer.Option(None, "--owner", help="Only findings this person owns."),
        month: str = typer.Option(None, "--month", help="YYYY-MM reconciled."),
        sort: str = typer.Option("day", "--sort", help="day, amount, days, customer or kind."),
        offset: int = typer.Option(0, "--offset", help="Skip this many findings."),
        limit: int = typer.Option(50, "--limit", help="Show at most this many (up to 200)."),
        username: str = AS_USER,
        json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Findings matching the filters, in the order asked, with counts per kind and the amount at stake."""
        cli = state(ctx)
        query = FindingQuery(tenant, kind, None if status == "all" else status, customer, owner, month, sort)
        found = find_discrepancies(cli.settings(), cli.actor(username), query, offset, limit)
        if json_output:
            typer.echo(json.dumps(as_json(found), indent=2))
        else:
            _print(found)

    @group.command("acknowledge")
    def acknowledge_command(ctx: typer.Context, ids: list[int] = IDS, note: str = NOTE,
                            username: str = AS_USER) -> None:
        """Acknowledge findings with one note: seen and being worked (they stay open)."""
        _act(ctx, ids, "acknowledge", note, username)

    @group.command("resolve")
    def resolve_command(ctx: typer.Context, ids: list[int] = IDS, note: str = NOTE, username: str = AS_USER) -> None:
        """Resolve findings with one note."""
        _act(ctx, ids, "resolve", note, username)

    @group.command("assign")
    def assign_command(
        ctx: typer.Context,
        ids: list[int] = IDS,
        owner: str = typer.Option(..., "--owner", help="Username of the person who works them ('' for nobody)."),
        username: str = AS_USER,
    ) -> None:
        """Give findings an owner."""
        cli = state(ctx)
        _done(assign_discrepancies(cli.settings(), cli.actor(username), ids, owner or None, cli.clock()))
