"""The demo's payments-out step: after the statement is imported, the applied payments go to the ERP sandboxes
(Exact Online cash entries, BC customer payment journal lines), and on the 20th of the month after, when every
legal entity's payment terms have run out, the reminders due go to the SMTP catcher; the summary's ``payments``
gains the counts. A second run sends nothing again (both are outboxes).

Why it gives customers e-mail addresses: the demo's customers come from the vendors' data, which carries none;
reminders go by e-mail, so every invoiced customer without one gets a demo address through the ledger, as the
master data desk would set it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from ledger.models import Customer, Invoice, PaymentExport, Reminder
from services.access import Actor
from services.clock import FixedClock
from services.payments import export_payments, send_reminders
from services.runtime import engine_for
from services.uow import UnitOfWork

Progress = Callable[[str], None]


def give_emails(settings: Any, who: Actor, progress: Progress) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        customers = uow.session.scalars(
            select(Customer).join(Invoice, Invoice.customer_id == Customer.id)
            .where(Invoice.number.is_not(None), Customer.email.is_(None)).distinct().order_by(Customer.id)).all()
        for customer in customers:
            customer.email = f"accounts+c{customer.id}@customer.example"
            uow.audit.record(who.username, "customer.email", "customer", customer.id, customer.tenant_id,
                             after={"email": customer.email})
    if customers:
        progress(f"demo: {len(customers)} invoiced customers given an accounts e-mail address for reminders")


def payments_out(settings: Any, approvers: dict[str, Actor], desk: Actor, at: dt.datetime, remind_at: dt.datetime,
                 progress: Progress) -> dict[str, Any]:
    """Export the applied payments at ``at`` and send the reminders due at ``remind_at``, with each tenant's
    approver."""
    clock = FixedClock(at)
    erp: dict[str, int] = {}
    for how in settings.payments.erp:
        for summary in export_payments(settings, approvers[how.tenant], how.tenant, clock=clock):
            progress(f"payments {summary.sentence}")
            for action, n in summary.outcomes.items():
                erp[action] = erp.get(action, 0) + n
    reminders: dict[str, int] = {}
    if settings.payments.reminders.enabled:
        give_emails(settings, desk, progress)
        for ladder in settings.payments.dunning:
            for summary in send_reminders(settings, approvers[ladder.tenant], ladder.tenant,
                                          clock=FixedClock(remind_at)):
                progress(f"reminders {summary.sentence}")
                for status, n in summary.outcomes.items():
                    reminders[status] = reminders.get(status, 0) + n
    with UnitOfWork(engine_for(settings)) as uow:  # the outboxes as a whole: a second run adds nothing
        totals = {f"{name}_{status}": n for name, model in (("erp", PaymentExport), ("reminders", Reminder))
                  for status, n in uow.session.execute(select(model.status, func.count()).group_by(model.status))}
    return {"erp": erp, "reminders": reminders, "outboxes": totals}
