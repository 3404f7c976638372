"""`cspbill prices`: the versioned price book: import rules or Microsoft's price list, list, show, reprice.

Every subcommand calls one use case of ``services.prices``. An import is all or nothing and names file, line and
field of every problem; importing the same file again changes nothing. A reprice is the only way to change what
was invoiced: it says from which day and why, and the next build turns it into correction lines.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, day_option, state
from desk.progress import progress_bars
from services.prices import book_view, edition_view, import_file, reprice

AS_USER = typer.Option(None, "--as", help=AS_USER_HELP)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _price(rule: dict[str, Any]) -> str:
    if rule["unit_price"] is not None:
        return f"{rule['unit_price']} {rule['currency'] or '(licence currency)'}"
    return f"{rule['basis']} {'+' if not str(rule['percent']).startswith('-') else ''}{rule['percent']}%"


def _rules_table(title: str, rules: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("rule", "edition", "tenant", "customer", "product", "meter category", "billing", "price",
                   "valid"):
        table.add_column(column)
    for rule in rules:
        table.add_row(rule["label"], str(rule["edition"]), rule["tenant_code"] or "*", rule["customer"] or "*",
                      rule["product"] or "*", rule["meter_category"] or "*", rule["billing"] or "*", _price(rule),
                      f"{rule['valid_from'] or '…'} – {rule['valid_to'] or '…'}")
    return table


def _editions_table(editions: list[dict[str, Any]]) -> Table:
    table = Table(title="editions of the price book (newest first)")
    for column in ("edition", "kind", "source", "rows", "by", "at (UTC)"):
        table.add_column(column)
    for edition in editions:
        source = edition["source"]
        if edition["kind"] == "reprice":
            source = f"{edition['tenant'] or 'all'} from {edition['reprice_from']}: {edition['reason']}"
        table.add_row(str(edition["edition"]), edition["kind"], source, str(edition["rows"]),
                      edition["recorded_by"], edition["recorded_at"][:19])
    return table


def register(app: typer.Typer) -> None:
    prices = typer.Typer(help="The versioned price book: rules, Microsoft's price list, editions, reprices.",
                         no_args_is_help=True)
    app.add_typer(prices, name="prices")

    @prices.command("import")
    def import_command(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="A rules CSV or Microsoft's new-commerce licence price list (CSV)."),
        kind: str = typer.Option(None, "--kind", help="rules or microsoft (default: told by the header)."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """Import a price file as a new edition (all rows or none; the same file twice is imported once)."""
        with progress_bars(f"prices import {file.name}") as counted:
            report = import_file(state(ctx).settings(), file, state(ctx).actor(as_user), kind, counted)
        if as_json:
            _dump(report.__dict__)
            return
        verb = "imported as" if report.created else "already imported as"
        typer.echo(f"{report.source}: {report.rows} {report.kind} row(s) {verb} edition {report.edition}")

    @prices.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity's rules (and the general ones)."),
        on: str = typer.Option(None, "--on", help="Only rules valid on this day (YYYY-MM-DD)."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """The rules in force in the latest edition, and the editions of the price book."""
        view = book_view(state(ctx).settings(), state(ctx).actor(as_user), tenant, day_option("--on", on))
        if as_json:
            _dump(view)
            return
        console = Console()
        console.print(_rules_table(f"rules in force (edition {view['edition']})", view["rules"]))
        console.print(_editions_table(view["editions"]))

    @prices.command("show")
    def show_command(
        ctx: typer.Context,
        edition: int = typer.Argument(..., help="The edition (import) id, from `cspbill prices list`."),
        limit: int = typer.Option(500, "--limit", min=1, max=100000, help="At most this many list prices."),
        as_user: str = AS_USER,
        as_json: bool = JSON,
    ) -> None:
        """One edition: where it came from and its rows."""
        view = edition_view(state(ctx).settings(), edition, state(ctx).actor(as_user), limit)
        if as_json:
            _dump(view)
            return
        console = Console()
        console.print(_editions_table([view]))
        if "rules" in view:
            console.print(_rules_table(f"rules of edition {edition}", view["rules"]))
            return
        table = Table(title=f"Microsoft list prices of edition {edition} (first {limit})")
        for column in ("line", "product", "sku", "title", "term", "billing", "market", "price", "ERP price",
                       "valid"):
            table.add_column(column)
        for row in view["list_prices"]:
            table.add_row(str(row["line"]), row["product_id"], row["sku_id"], row["sku_title"], row["term"],
                          row["billing_plan"], row["market"], f"{row['unit_price']} {row['currency']}",
                          row["erp_price"] or "", f"{row['valid_from']} – {row['valid_to'] or '…'}")
        console.print(table)

    @prices.command("reprice")
    def reprice_command(
        ctx: typer.Context,
        start: str = typer.Option(..., "--from", help="Reprice invoiced periods from this day (YYYY-MM-DD)."),
        reason: str = typer.Option(..., "--reason", help="Why: printed on every correction line it causes."),
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity (default: every one)."),
        as_user: str = AS_USER,
    ) -> None:
        """Reprice what was invoiced from a day on with today's price book (finance or admin; audited)."""
        day = day_option("--from", start) or dt.date.min  # --from is required, so always given
        report = reprice(state(ctx).settings(), tenant, day, reason, state(ctx).actor(as_user), state(ctx).clock())
        typer.echo(f"reprice recorded as edition {report.edition}: the next build of an open month corrects "
                   f"{tenant or 'every legal entity'}'s invoiced periods from {day.isoformat()}")
