"""Numbered invoices to pay, and statement files that pay them, for the payments tests (services and CLI).

The invoices are written through the unit of work as approval leaves them (numbered, approved); the batch services
that make them are tested elsewhere. Statement files come from the sandbox bank's camt.053 writer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from config import Settings
from ledger.models import Batch, Invoice
from sandbox.bank.camt053 import AccountStatement, Booking, camt053
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

NL_IBAN = "NL91ABNA0417164300"
DE_IBAN = "DE89370400440532013000"
ISSUED = dt.date(2026, 11, 3)
INVOICES = (  # number, customer, gross
    ("NL2026-00001", "Contoso Zorg B.V.", "242.00"),
    ("NL2026-00002", "Fabrikam Logistiek", "605.00"),
    ("NL2026-00003", "Northwind Traders", "121.00"),
    ("NL2026-00004", "Northwind Traders", "77.77"),
)


def seed_invoices(settings: Settings) -> dict[str, int]:
    """nl-bv's October batch, approved: the invoices above (invoice number -> id)."""
    initialise(settings)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant = uow.tenants.by_code("nl-bv")
        batch = Batch(tenant_id=tenant.id, month="2026-10", status="draft", built_by="finn")
        uow.session.add(batch)
        uow.session.flush()
        customers: dict[str, int] = {}
        invoices = []
        for number, name, gross in INVOICES:
            if name not in customers:
                customers[name] = uow.customers.add(tenant.id, name, country="NL").id
            amount = Decimal(gross)
            net = (amount / Decimal("1.21")).quantize(Decimal("0.01"))
            invoices.append(Invoice(batch_id=batch.id, tenant_id=tenant.id, customer_id=customers[name],
                                    invoice_key=f"nl-bv:{number}", number=number, issue_date=ISSUED, currency="EUR",
                                    net=net, vat=amount - net, gross=amount, status="approved"))
        uow.session.add_all(invoices)
        uow.session.flush()
        batch.status = "approved"  # last: an approved batch takes no more invoices
        return {i.number: i.id for i in invoices}


def statement(bookings: Sequence[Booking], iban: str = NL_IBAN, currency: str = "EUR", statement_id: str = "S-1",
              ) -> bytes:
    return camt053([AccountStatement(statement_id, iban, currency, Decimal("1000.00"), tuple(bookings))],
                   dt.datetime(2026, 11, 30, 18, 0), f"MSG-{statement_id}")


def booking(reference: str, amount: str, name: str | None = None, iban: str | None = None, rf: str | None = None,
            text: str | None = None, day: int = 10) -> Booking:
    return Booking(reference, dt.date(2026, 11, day), Decimal(amount), name, iban, rf, text)
