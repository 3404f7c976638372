"""Dunning levels: when an invoice is due, how late it is, and which reminder level (with its text) that lateness
has reached. Pure, so the legal entity's ladder from config is tested with plain dates.

Why "reached", not "next": a level is a threshold of days past the due date; an invoice 40 days late under a ladder
of 7, 21 and 35 days is at level 3, whatever was or was not sent before (sending is not this module's business).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Level:
    level: int  # 1, 2, 3 …
    days: int  # days past the due date from which this level is reached
    text: str  # the reminder's text, with {customer}, {invoice}, {issue_date}, {due_date}, {days}, {open}, {currency}


@dataclass(frozen=True)
class Overdue:
    due_date: dt.date
    days: int  # days past the due date (0 on the due date itself)
    level: Level | None  # the highest level reached, None before the first


def due_date(issue_date: dt.date, terms_days: int) -> dt.date:
    return issue_date + dt.timedelta(days=terms_days)


def overdue(issue_date: dt.date, terms_days: int, today: dt.date, levels: Sequence[Level]) -> Overdue | None:
    """How late an invoice issued on ``issue_date`` with ``terms_days`` is on ``today`` (None: not due yet)."""
    due = due_date(issue_date, terms_days)
    if today <= due:
        return None
    days = (today - due).days
    reached = [lvl for lvl in sorted(levels, key=lambda x: x.days) if days >= lvl.days]
    return Overdue(due, days, reached[-1] if reached else None)


def reminder_text(level: Level, customer: str, invoice: str, issue_date: dt.date, late: Overdue, open_amount: Decimal,
                  currency: str) -> str:
    return level.text.format(customer=customer, invoice=invoice, issue_date=issue_date.isoformat(),
                             due_date=late.due_date.isoformat(), days=late.days, open=open_amount, currency=currency)
