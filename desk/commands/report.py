"""`cspbill report margin|leakage|mrr`: the finance reports of the web desk's /reports pages, as tables, JSON, or
files (``--csv DIR`` / ``--xlsx DIR`` write every table of the report, the same files the pages offer).

Each takes the months (``--from``, ``--to``; default the six months before now) and ``--tenant`` (default: every
legal entity the signed-in person may read as finance).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from desk.context import AS_USER_HELP, fail, state
from desk.exit_codes import ExitCode
from desk.web.downloads import csv_bytes, xlsx_bytes
from services.reports import Table, leakage_report, margin_report, mrr_report

REPORTS: dict[str, tuple[Callable[..., Any], str]] = {
    "margin": (margin_report, "Billed minus vendor cost per customer, product and month; negative margins flagged."),
    "leakage": (leakage_report, "Vendor charges never billed (revenue leakage) and billed lines with no vendor "
                                "charge."),
    "mrr": (mrr_report, "MRR and ARR per legal entity and month, churn and expansion per customer, seats per "
                        "product."),
}


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, int) else str(value)


def _print(tables: list[Table]) -> None:
    console = Console()
    for table in tables:
        shown = RichTable(title=table.title)
        for column in table.columns:
            shown.add_column(column.name, justify="left" if column.kind == "text" else "right")
        for row in table.rows:
            shown.add_row(*("" if value is None else str(value) for value in row))
        console.print(shown)


def _write(tables: list[Table], directory: Path, fmt: str, months: str) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for table in tables:
            target = directory / f"{table.name}-{months}.{fmt}"
            data = csv_bytes(table.header, table.rows) if fmt == "csv" else xlsx_bytes(table.header, table.rows,
                                                                                         table.name)
            target.write_bytes(data)
            typer.echo(f"wrote {target} ({len(table.rows)} rows)")
    except OSError as exc:
        fail(f"{directory}: cannot write: {exc.strerror}", ExitCode.ERROR)


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="Finance reports: margin, revenue leakage, MRR.", no_args_is_help=True)
    app.add_typer(report, name="report")

    for name, (use_case, help_text) in REPORTS.items():
        report.command(name, help=help_text)(_command(use_case))


def _command(use_case: Callable[..., Any]) -> Callable[..., None]:
    """The command running ``use_case`` (one per report: the options are the same)."""

    def command(
        ctx: typer.Context,
        first: str = typer.Option(None, "--from", help="First month YYYY-MM (default: six months before now)."),
        last: str = typer.Option(None, "--to", help="Last month YYYY-MM (default: the month before now)."),
        tenant: str = typer.Option(None, "--tenant", help="Only this legal entity."),
        csv_dir: Path = typer.Option(None, "--csv", help="Write every table as CSV into this directory."),
        xlsx_dir: Path = typer.Option(None, "--xlsx", help="Write every table as XLSX into this directory."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        result = use_case(state(ctx).settings(), state(ctx).actor(as_user), state(ctx).clock(), first, last,
                          tenant)
        tables = result.tables()
        months = f"{result.scope.months[0]}-{result.scope.months[-1]}"
        if csv_dir:
            _write(tables, csv_dir, "csv", months)
        if xlsx_dir:
            _write(tables, xlsx_dir, "xlsx", months)
        if as_json:
            typer.echo(json.dumps({"months": list(result.scope.months), "tables": [
                {"name": t.name, "title": t.title, "columns": t.header,
                 "rows": [[_cell(v) for v in row] for row in t.rows]} for t in tables]},
                indent=2, ensure_ascii=False))
        elif not (csv_dir or xlsx_dir):
            _print(tables)
    return command
