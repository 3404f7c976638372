"""`cspbill customer list|show|set|set-reference`: customers, their master data and their ERP customer numbers."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from desk.context import AS_USER_HELP, state
from services.desk import (
    CustomerDetail,
    check_vat,
    customer_detail,
    list_customers,
    set_reference,
    update_master_data,
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Customers, their master data and ERP customer numbers.", no_args_is_help=True)
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

    @group.command("show")
    def show_command(
        ctx: typer.Context,
        customer_id: int = typer.Argument(..., help="Ledger customer id."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Show a customer's master data."""
        cli = state(ctx)
        show(customer_detail(cli.settings(), cli.actor(as_user), customer_id))

    @group.command("set")
    def set_command(
        ctx: typer.Context,
        customer_id: int = typer.Argument(..., help="Ledger customer id."),
        street: str = typer.Option(None, "--street", help="Street and number."),
        city: str = typer.Option(None, "--city"),
        postal_code: str = typer.Option(None, "--postal-code"),
        country: str = typer.Option(None, "--country", help="ISO 3166 two-letter code, e.g. FR."),
        vat_id: str = typer.Option(None, "--vat-id", help="With its country prefix, e.g. FR40303265045."),
        peppol: str = typer.Option(None, "--peppol", help="Peppol participant SCHEME:ID, e.g. 0106:12345678."),
        leitweg_id: str = typer.Option(None, "--leitweg-id", help="German public buyer's Leitweg-ID."),
        payment_terms: str = typer.Option(None, "--payment-terms", help="Days, 0..365 (empty: the entity's)."),
        channel: str = typer.Option(None, "--channel", help="email, peppol or erp."),
        email: str = typer.Option(None, "--email", help="Where invoices are e-mailed."),
        contact: str = typer.Option(None, "--contact", help="The customer's contact person."),
        language: str = typer.Option(None, "--language", help="e.g. de, nl, en."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Set master-data fields (only those given; an empty value clears one); audited."""
        given = {"street": street, "city": city, "postal_code": postal_code, "country": country, "vat_id": vat_id,
                 "peppol": peppol, "leitweg_id": leitweg_id, "payment_terms_days": payment_terms,
                 "delivery_channel": channel, "email": email, "contact_name": contact, "language": language}
        changes = {name: value for name, value in given.items() if value is not None}
        if not changes:
            raise typer.BadParameter("give at least one field to set, e.g. --street or --vat-id")
        cli = state(ctx)
        show(update_master_data(cli.settings(), cli.actor(as_user), customer_id, changes, cli.clock()))

    @group.command("check-vat")
    def check_vat_command(
        ctx: typer.Context,
        customer_id: int = typer.Argument(..., help="Ledger customer id."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    ) -> None:
        """Ask the EU VIES service whether the customer's VAT id is registered; records the answer."""
        cli = state(ctx)
        view = check_vat(cli.settings(), cli.actor(as_user), customer_id, cli.clock())
        Console().print(f"customer {view.id} ({view.name}): VIES says {view.vat_check_result} for {view.vat_id}")


def show(view: CustomerDetail) -> None:
    table = Table(title=f"customer {view.id}: {view.name} ({view.tenant})", show_header=False)
    checked = view.vat_checked_at.isoformat(timespec="minutes") if view.vat_checked_at else None
    rows = (("ERP reference", view.reference), ("business", "yes" if view.is_business else "no"),
            ("street", view.street), ("postal code", view.postal_code), ("city", view.city),
            ("country", view.country), ("VAT id", view.vat_id),
            ("VIES check", f"{view.vat_check_result} at {checked}" if checked else None), ("Peppol", view.peppol),
            ("Leitweg-ID", view.leitweg_id),
            ("payment terms", f"{view.payment_terms_days} days" if view.payment_terms_days is not None else None),
            ("channel", view.delivery_channel), ("e-mail", view.email), ("contact", view.contact_name),
            ("language", view.language))
    for label, value in rows:
        table.add_row(label, value or "-")
    Console().print(table)
