"""`cspbill payments statement`: a customer's statement of account as a PDF: what is open (with the creditor
reference to quote), every invoice, credit note and payment with a running balance, and the balance.

Why from the ledger's applications rather than stored balances: the balance is the invoices' gross less the
applications in force (and the bank charges written off), the same sum the open-items list and the matcher use, so
the letter can never disagree with the payments page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from config import Settings
from config.schema import Tenant as TenantConfig
from erp_export.letters import OpenItem, Party, StatementLine, StatementOfAccount, statement_pdf
from ledger.models import CREDIT_NOTE, Customer
from rating.payments.dunning import due_date
from rating.payments.reference import creditor_reference, printed
from services.access import Actor, require
from services.clock import Clock, SystemClock
from services.errors import NotFound, ValidationFailed
from services.payments.applying import money
from services.runtime import engine_for
from services.uow import UnitOfWork


def statement_of_account(settings: Settings, who: Actor, tenant: str, customer: str,
                         clock: Clock | None = None) -> tuple[str, bytes]:
    """The PDF of ``customer`` (id, ERP reference or exact name) of ``tenant`` as of today, and its file name
    (finance)."""
    require(who, "finance", tenant)
    config = settings.tenant(tenant)
    today = (clock or SystemClock()).now().date()
    with UnitOfWork(engine_for(settings)) as uow:
        row = uow.tenants.by_code(tenant)
        if row is None:
            raise NotFound(f"tenant {tenant!r}: not in the ledger (run `cspbill init`)")
        found = uow.payments_out.customers_named(row.id, customer)
        if not found:
            raise NotFound(f"tenant {tenant}: customer {customer!r}: no customer has that id, reference or name")
        if len(found) > 1:
            raise ValidationFailed(f"tenant {tenant}: customer {customer!r}: {len(found)} customers match; give the "
                                   f"id ({', '.join(str(c.id) for c in found)})")
        who_pays = found[0]
        invoices = uow.payments_out.billed(who_pays.id)
        received = uow.payments_out.received(who_pays.id)
    terms = who_pays.payment_terms_days if who_pays.payment_terms_days is not None else config.seller.payment_terms_days
    currency = invoices[0].currency if invoices else config.currency
    paid: dict[int, Decimal] = {}
    moves: list[tuple[dt.date, int, str, str, Decimal]] = []
    for invoice in invoices:
        kind = "credit note" if invoice.document_type == CREDIT_NOTE else "invoice"
        moves.append((invoice.issue_date or today, 0, kind, invoice.number or "", invoice.gross))
    for application, entry in received:
        paid[application.invoice_id] = paid.get(application.invoice_id, Decimal(0)) + application.amount \
            + application.charges
        moves.append((entry.booking_date, 1, "payment", entry.bank_reference, -application.amount))
        if application.charges:
            moves.append((entry.booking_date, 2, "bank charges written off", entry.bank_reference,
                          -application.charges))
    balance, lines = Decimal(0), []
    for day, _, kind, reference, amount in sorted(moves, key=lambda m: (m[0], m[1], m[3])):
        balance += amount
        lines.append(StatementLine(day, kind, reference, _money(amount, currency), _money(balance, currency)))
    items = []
    for invoice in invoices:
        open_amount = invoice.gross - paid.get(invoice.id, Decimal(0))
        if open_amount and invoice.issue_date:
            reference = creditor_reference(invoice.number or "")
            items.append(OpenItem(invoice.number or "", invoice.issue_date, due_date(invoice.issue_date, terms),
                                  _money(invoice.gross, currency), _money(open_amount, currency), printed(reference)))
    document = StatementOfAccount(seller_party(config), customer_party(who_pays), today, currency, tuple(lines),
                                  tuple(items), _money(balance, currency))
    return f"statement-{tenant}-{who_pays.id}-{today.isoformat()}.pdf", statement_pdf(document)


def _money(amount: Decimal, currency: str) -> Decimal:
    return Decimal(money(amount, currency))


def seller_party(config: TenantConfig) -> Party:
    address = config.seller.address
    town = f"{address.postal_code or ''} {address.city or ''}".strip()
    return Party(config.seller.legal_name or config.name,
                 ", ".join(p for p in (address.street, town, config.country) if p))


def customer_party(customer: Customer) -> Party:
    town = f"{customer.postal_code or ''} {customer.city or ''}".strip()
    return Party(customer.name, ", ".join(p for p in (customer.street, town, customer.country) if p))
