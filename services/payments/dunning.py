"""`cspbill payments overdue`: the invoices past their due date per legal entity, by age, with the reminder level
(and its text) each has reached on the legal entity's ladder (config ``payments.dunning``). Nothing is sent: this
is the list finance works from until reminders go out through the delivery channels.

The due date is the issue date plus the customer's payment terms, else the legal entity's (``seller``)."""

from __future__ import annotations

from typing import Any

from config import Settings
from rating.payments.dunning import Level, overdue, reminder_text
from services.access import Actor, readable_tenants
from services.clock import Clock, SystemClock
from services.payments.applying import money
from services.runtime import engine_for
from services.uow import UnitOfWork


def overdue_items(settings: Settings, who: Actor, tenant: str | None = None,
                  clock: Clock | None = None) -> list[dict[str, Any]]:
    """Open invoices past due, oldest due first, with days late, level and reminder text (finance)."""
    today = (clock or SystemClock()).now().date()
    ladders = {d.tenant: [Level(n, lvl.days, lvl.text) for n, lvl in enumerate(d.levels, start=1)]
               for d in settings.payments.dunning}
    rows = []
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        for tenant_id, code in tenants.items():
            terms = settings.tenant(code).seller.payment_terms_days
            levels = ladders.get(code, [])
            for row in uow.payments.open_items(tenant_id):
                if row.issue_date is None or row.gross <= row.paid:
                    continue
                late = overdue(row.issue_date, row.terms_days if row.terms_days is not None else terms, today,
                               levels)
                if late is None:
                    continue
                open_amount = money(row.gross - row.paid, row.currency)
                rows.append({
                    "tenant": code, "customer": row.customer, "invoice": row.number,
                    "issue_date": row.issue_date.isoformat(), "due_date": late.due_date.isoformat(),
                    "days": late.days, "open": open_amount, "currency": row.currency,
                    "level": late.level.level if late.level else 0,
                    "text": reminder_text(late.level, row.customer, row.number, row.issue_date, late, open_amount,
                                          row.currency) if late.level else None,
                })
    return sorted(rows, key=lambda r: (r["tenant"], -r["days"], r["invoice"]))
