"""The payment outboxes: applied payments to the ERP and reminder letters, claimed before every send.

Why the same compare-and-set claim as the invoice export and the delivery (``claim_row``): the move to ``sending``
is committed before the ERP or the mail server is called, and only the run that made it may act on the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select

from ledger.models import (
    CREDIT_NOTE,
    BankEntry,
    Customer,
    Export,
    Invoice,
    PaymentApplication,
    PaymentExport,
    Reminder,
    Tenant,
)
from ledger.repositories.base import Repository, claim_row

DUE = ("queued", "sending", "uncertain")


class PaymentOutboxRepository(Repository):
    # -- applied payments to the ERP ------------------------------------------------------------------------

    def export(self, export_id: int) -> PaymentExport | None:
        return self.session.get(PaymentExport, export_id)

    def lock_tenant(self, tenant_id: int) -> None:
        """Serialise queueing per tenant until commit: PostgreSQL row lock (SQLite's write transaction already is)."""
        self.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    def unexported(self, tenant_id: int, target: str) -> Sequence[tuple[PaymentApplication, Invoice, Customer]]:
        """Applications in force to invoices (not credit notes) with no outbox row for ``target`` yet, oldest first,
        with invoice and customer. Money paid back on a credit note is a refund, not a customer payment of an
        invoice: BC's payment journal line applies to posted invoices only, so refunds stay for finance to book."""
        queued = select(PaymentExport.application_id).where(PaymentExport.target == target)
        query = (select(PaymentApplication, Invoice, Customer)
                 .join(Invoice, Invoice.id == PaymentApplication.invoice_id)
                 .join(Customer, Customer.id == PaymentApplication.customer_id)
                 .where(PaymentApplication.tenant_id == tenant_id, PaymentApplication.unapplied_at.is_(None),
                        Invoice.document_type != CREDIT_NOTE, PaymentApplication.id.not_in(queued))
                 .order_by(PaymentApplication.id))
        return [(a, i, c) for a, i, c in self.session.execute(query)]

    def due_exports(self, tenant_id: int, now: dt.datetime) -> Sequence[PaymentExport]:
        ready = or_(PaymentExport.status == "sending", PaymentExport.next_attempt_at.is_(None),
                    PaymentExport.next_attempt_at <= now)
        return self.session.scalars(select(PaymentExport).where(PaymentExport.tenant_id == tenant_id,
                                                                PaymentExport.status.in_(DUE), ready)
                                    .order_by(PaymentExport.id)).all()

    def claim_export(self, export_id: int, expected_status: str, expected_claim: str | None, runner: str,
                     now: dt.datetime) -> bool:
        return claim_row(self.session, PaymentExport, export_id, expected_status, expected_claim, runner, now)

    def export_parts(self, row: PaymentExport) -> tuple[PaymentApplication, Invoice, Customer, Any]:
        """The application a row exports, its invoice, customer and bank entry's booking date."""
        application = self.session.get(PaymentApplication, row.application_id)
        assert application is not None
        invoice = self.session.get(Invoice, application.invoice_id)
        customer = self.session.get(Customer, application.customer_id)
        assert invoice is not None and customer is not None
        entry = self.session.get(BankEntry, application.entry_id)
        assert entry is not None
        return application, invoice, customer, entry.booking_date

    def erp_invoice_number(self, invoice_id: int, target: str) -> str | None:
        """The number ``target`` gave the invoice when it was exported (``None``: not in that ERP yet)."""
        return self.session.scalar(select(Export.erp_number).where(
            Export.invoice_id == invoice_id, Export.target == target, Export.status == "sent"))

    def export_counts(self, tenant_ids: Sequence[int]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.session.scalars(select(PaymentExport.status)
                                           .where(PaymentExport.tenant_id.in_(tenant_ids))):
            counts[status] = counts.get(status, 0) + 1
        return counts

    # -- statement of account -------------------------------------------------------------------------------

    def billed(self, customer_id: int) -> Sequence[Invoice]:
        """The customer's numbered invoices and credit notes, oldest first."""
        return self.session.scalars(select(Invoice).where(
            Invoice.customer_id == customer_id, Invoice.number.is_not(None),
            Invoice.status.in_(("approved", "exported"))).order_by(Invoice.issue_date, Invoice.number)).all()

    def received(self, customer_id: int) -> Sequence[tuple[PaymentApplication, BankEntry]]:
        """The customer's applications in force with the entry each came from, by booking day."""
        query = (select(PaymentApplication, BankEntry).join(BankEntry, BankEntry.id == PaymentApplication.entry_id)
                 .where(PaymentApplication.customer_id == customer_id, PaymentApplication.unapplied_at.is_(None))
                 .order_by(BankEntry.booking_date, PaymentApplication.id))
        return [(a, e) for a, e in self.session.execute(query)]

    def customers_named(self, tenant_id: int, wanted: str) -> Sequence[Customer]:
        """Customers of the tenant whose id, reference or name is ``wanted`` (name: case-insensitive)."""
        rows = self.session.scalars(select(Customer).where(Customer.tenant_id == tenant_id)).all()
        return [c for c in rows if wanted in (str(c.id), c.reference) or c.name.casefold() == wanted.casefold()]

    # -- reminders ------------------------------------------------------------------------------------------

    def reminder(self, reminder_id: int) -> Reminder | None:
        return self.session.get(Reminder, reminder_id)

    def reminded_levels(self, tenant_id: int) -> set[tuple[int, int]]:
        """(invoice id, level) of every reminder row of the tenant, whatever its state."""
        rows = self.session.execute(select(Reminder.invoice_id, Reminder.level).where(Reminder.tenant_id == tenant_id))
        return {(row.invoice_id, row.level) for row in rows}

    def due_reminders(self, tenant_id: int, now: dt.datetime) -> Sequence[Reminder]:
        ready = or_(Reminder.status == "sending", Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now)
        return self.session.scalars(select(Reminder).where(Reminder.tenant_id == tenant_id,
                                                           Reminder.status.in_(("queued", "sending")), ready)
                                    .order_by(Reminder.id)).all()

    def claim_reminder(self, reminder_id: int, expected_status: str, expected_claim: str | None, runner: str,
                       now: dt.datetime) -> bool:
        return claim_row(self.session, Reminder, reminder_id, expected_status, expected_claim, runner, now)

    def reminders(self, tenant_ids: Sequence[int], limit: int = 200) -> Sequence[tuple[Reminder, Invoice, Customer]]:
        query = (select(Reminder, Invoice, Customer).join(Invoice, Invoice.id == Reminder.invoice_id)
                 .join(Customer, Customer.id == Reminder.customer_id)
                 .where(Reminder.tenant_id.in_(tenant_ids)).order_by(Reminder.id.desc()).limit(limit))
        return [(r, i, c) for r, i, c in self.session.execute(query)]
