"""`cspbill customer list|set-reference`: the ERP customer numbers that join vendors and the ERP."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.desk import list_customers, set_reference


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Customers and their ERP customer numbers.", no_args_is_help=True)
    app.add_typer(group, name="customer")

    @group.command("list")
    def list_command(
        ctx: typer.Context,
        tenant: str = typer.Option(None, help="Only this legal entity."),
        missing: bool = typer.Option(False, "--missing", help="Only customers without an ERP reference."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """List customers with their ERP reference."""
        cli = state(ctx)
        settings = cli.settings()
        table = Table(title="Customers")
        for column in ("id", "entity", "name", "ERP reference"):
            table.add_column(column)
        for row in list_customers(settings, cli.actor(as_user), tenant, missing):
            table.add_row(str(row.id), row.tenant, row.name, row.reference or "-")
        Console().print(table)

    @group.command("set-reference")
    def set_reference_command(
        ctx: typer.Context,
        customer_id: int = typer.Argument(..., help="Ledger customer id."),
        reference: str = typer.Argument(..., help="The ERP customer number."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Set a customer's ERP customer number (resolves its unmapped-customer finding)."""
        cli = state(ctx)
        settings = cli.settings()
        view = set_reference(settings, cli.actor(as_user), customer_id, reference, cli.clock())
        Console().print(f"customer {view.id} ({view.name}, {view.tenant}): ERP reference {view.reference}")
