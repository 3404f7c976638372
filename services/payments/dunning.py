"""`cspbill payments overdue`: the invoices past their due date per legal entity, by age, with the reminder level
(and its text) each has reached on the legal entity's ladder (config ``payments.dunning``). This is the list finance
works from; ``services.payments.reminders`` sends the letters for it.

The due date is the issue date plus the customer's payment terms, else the legal entity's (``seller``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from config import Settings
from ledger.repositories.payments import OpenRow
from rating.payments.dunning import Level, Overdue, overdue, reminder_text
from services.access import Actor, readable_tenants
from services.clock import Clock, SystemClock
from services.payments.applying import money
from services.runtime import engine_for
from services.uow import UnitOfWork


def ladder(settings: Settings, tenant: str) -> list[Level]:
    """The legal entity's reminder levels (empty: it has no ladder)."""
    found = next((d for d in settings.payments.dunning if d.tenant == tenant), None)
    return [] if found is None else [Level(n, lvl.days, lvl.text) for n, lvl in enumerate(found.levels, start=1)]


def late_items(uow: UnitOfWork, settings: Settings, tenant_id: int, code: str,
               today: dt.date) -> Iterator[tuple[OpenRow, Overdue]]:
    """The tenant's open invoices past due on ``today``, with how late each is and the level reached."""
    terms = settings.tenant(code).seller.payment_terms_days
    levels = ladder(settings, code)
    for row in uow.payments.open_items(tenant_id):
        if row.issue_date is None or row.gross <= row.paid:
            continue
        late = overdue(row.issue_date, row.terms_days if row.terms_days is not None else terms, today, levels)
        if late is not None:
            yield row, late


def text_of(row: OpenRow, late: Overdue) -> str | None:
    """The reminder text of the level ``row`` reached (``None`` before the first level)."""
    if late.level is None:
        return None
    assert row.issue_date is not None
    return reminder_text(late.level, row.customer, row.number, row.issue_date, late,
                         money(row.gross - row.paid, row.currency), row.currency)


def overdue_items(settings: Settings, who: Actor, tenant: str | None = None,
                  clock: Clock | None = None) -> list[dict[str, Any]]:
    """Open invoices past due, oldest due first, with days late, level and reminder text (finance)."""
    today = (clock or SystemClock()).now().date()
    rows = []
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "finance", tenant)
        for tenant_id, code in tenants.items():
            for row, late in late_items(uow, settings, tenant_id, code, today):
                assert row.issue_date is not None
                rows.append({
                    "tenant": code, "customer": row.customer, "invoice": row.number,
                    "issue_date": row.issue_date.isoformat(), "due_date": late.due_date.isoformat(),
                    "days": late.days, "open": money(row.gross - row.paid, row.currency), "currency": row.currency,
                    "level": late.level.level if late.level else 0, "text": text_of(row, late),
                })
    return sorted(rows, key=lambda r: (r["tenant"], -r["days"], r["invoice"]))
