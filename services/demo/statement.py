"""The demo month's bank statement: a camt.053 in which the customers pay the month's invoices the way real
customers do, and its import after the export (the demo summary gains the payment counts).

Why noisy on purpose: a matcher tested only on perfect remittances says nothing. Most payments quote the creditor
reference, but some write the invoice number in free text, some write nothing and misspell their own name, some pay
two invoices in one transfer, one pays part, some lose bank charges on the way, a stranger sends money that belongs
to nobody, and the bank books its own fee. The noise is drawn from a generator seeded by the month and legal entity,
so the same month always yields the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stdnum import iban as iban_number

from config import Settings
from sandbox.bank.camt053 import AccountStatement, Booking, camt053
from services.access import Actor
from services.clock import Clock, FixedClock, SystemClock
from services.demo.month import APPROVERS, DESK_USER, DemoRun, DemoSummary, Progress, log
from services.demo.payments_out import payments_out
from services.payments import import_statement, open_items, straight_through

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Planned:
    """A booking and the invoices its payer meant to pay (empty: nobody's), so a benchmark can count wrong matches."""

    booking: Booking
    invoices: tuple[str, ...]


@dataclass(frozen=True)
class _Open:
    customer: str
    number: str
    open: Decimal
    reference: str
    issued: dt.date


def demo_statement(settings: Settings, who: Actor, month: str, tenant: str | None = None,
                   clock: Clock | None = None) -> bytes:
    """A camt.053 file (one statement per configured account ``who`` may see) paying ``month``'s open invoices."""
    now = (clock or SystemClock()).now()
    items = [i for i in open_items(settings, who, tenant) if i["issue_date"]]
    by_tenant: dict[str, list[_Open]] = defaultdict(list)
    for item in items:
        by_tenant[item["tenant"]].append(open_item(item))
    statements = []
    for account in settings.payments.accounts:
        if account.tenant not in by_tenant or (tenant and account.tenant != tenant):
            continue
        planned = planned_payments(f"{month}:{account.tenant}", account.tenant, by_tenant[account.tenant])
        statements.append(AccountStatement(f"{account.tenant.upper()}-{month}", account.iban,
                                           settings.tenant(account.tenant).currency, Decimal("25000.00"),
                                           tuple(p.booking for p in planned)))
    return camt053(statements, now, f"DEMO-{month}-{now:%Y%m%d%H%M%S}")


def import_demo_payments(run: DemoRun, summary: DemoSummary, progress: Progress = log.info) -> DemoSummary:
    """After the export: each legal entity's finance person imports its demo statement (written under the demo's
    directory) at the end of the following month, then the applied payments go to the ERP and the reminders due
    out (``services.demo.payments_out``); the summary gains the payment counts. Idempotent: a second run finds the
    same files already imported and sends nothing again."""
    settings = run.settings
    following = (run.month + dt.timedelta(days=32)).replace(day=28)
    clock = FixedClock(dt.datetime.combine(following, dt.time(18, 0), tzinfo=dt.UTC))
    counts: dict[str, Any] = {"entries": 0, "applied": 0, "review": 0, "unmatched": 0}
    automatic = total = 0
    for account in settings.payments.accounts:
        who = run.people[APPROVERS[account.tenant]]
        data = demo_statement(settings, who, summary.month, account.tenant, clock)
        path = run.dir / f"statement-{account.tenant}-{summary.month}.xml"
        if not path.exists():  # a second run imports the first run's file again (and finds it imported)
            path.write_bytes(data)
        result = import_statement(settings, who, path.read_bytes(), path.name, clock)
        progress(result.sentence)
        counts["entries"] += result.new_entries
        for status, n in result.outcomes.items():
            counts[status] += n
        for row in straight_through(settings, who, account.tenant):
            total, automatic = total + row["entries"], automatic + row["automatic"]
    counts["straight_through"] = round(automatic / total, 3) if total else None
    reminders = dt.datetime.combine((following + dt.timedelta(days=10)).replace(day=20), dt.time(9, 0), dt.UTC)
    counts.update(payments_out(settings, {code: run.people[name] for code, name in APPROVERS.items()},
                               run.people[DESK_USER], clock.now() + dt.timedelta(hours=1), reminders, progress))
    summary.payments = counts
    return summary


def open_item(item: dict[str, Any]) -> _Open:
    """An entry of ``services.payments.open_items`` as the generator takes it."""
    return _Open(item["customer"], item["invoice"], Decimal(item["open"]), item["reference"],
                 dt.date.fromisoformat(item["issue_date"]))


def planned_payments(seed: str, tenant: str, items: list[_Open]) -> list[Planned]:
    """The month's bookings on ``tenant``'s account with the invoices each meant to pay, drawn from ``seed``."""
    rng = random.Random(seed)
    by_customer: dict[str, list[_Open]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.customer, i.issued, i.number)):
        by_customer[item.customer].append(item)
    bookings: list[Planned] = []

    def book(day: dt.date, amount: Decimal, name: str | None, iban: str | None, ref: str | None,
             text: str | None, *paid: _Open) -> None:
        booking = Booking(f"{tenant.upper()}-{len(bookings) + 1:05d}", day, amount, name, iban, ref, text)
        bookings.append(Planned(booking, tuple(i.number for i in paid)))

    for customer, owed in by_customer.items():
        iban = _iban(customer)
        positive = [i for i in owed if i.open > 0]
        if len(positive) >= 2 and rng.random() < 0.5:
            first, second = positive[:2]
            book(_day(rng, second.issued), first.open + second.open, customer, iban, None,
                 f"Invoices {first.number} and {second.number}", first, second)
            positive = positive[2:]
        for item in positive:
            day, roll = _day(rng, item.issued), rng.random()
            if roll < 0.5:
                book(day, item.open, customer, iban, item.reference, None, item)
            elif roll < 0.65:
                book(day, item.open, customer.upper(), iban, None, f"Factuur {item.number} dank u", item)
            elif roll < 0.77:
                book(day, item.open, _typo(rng, customer), iban, None, "Cloud services", item)
            elif roll < 0.84:
                book(day, (item.open * Decimal("0.6")).quantize(CENT), customer, iban, item.reference,
                     "Deelbetaling / partial payment", item)
            elif roll < 0.92:
                charges = Decimal(rng.choice(("1.50", "2.00", "2.50", "3.75")))
                book(day, item.open - charges, customer, iban, None, f"INV {item.number.replace('-', ' ')}", item)
            else:
                book(day, item.open, customer, iban, None, f"Payment {item.reference[-6:]} for October", item)
        for item in (i for i in owed if i.open < 0):
            book(_day(rng, item.issued), item.open, customer, iban, item.reference, "Refund credit note", item)
    last = max((p.booking.day for p in bookings), default=dt.date.today())
    book(last, Decimal("318.40"), "Stichting Onbekend", _iban("Stichting Onbekend"), None, "Lidmaatschap 2026")
    book(last, Decimal("-7.50"), None, None, None, "Bank fees / Kosten betalingsverkeer")
    return sorted(bookings, key=lambda p: (p.booking.day, p.booking.reference))


def _day(rng: random.Random, issued: dt.date) -> dt.date:
    return issued + dt.timedelta(days=rng.randint(3, 20))


def _typo(rng: random.Random, name: str) -> str:
    """The name as a hurried person types it: one letter dropped or two swapped, the legal form's dots gone."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    at = rng.choice(letters[1:-1] or letters)
    if rng.random() < 0.5:
        typed = name[:at] + name[at + 1:]
    else:
        typed = name[:at] + name[at + 1:at + 2] + name[at] + name[at + 2:]
    return typed.replace(".", "")


def _iban(name: str) -> str:
    """A stable, valid Dutch IBAN for a payer (bank code INGB and ten digits from the name)."""
    digits = str(int(hashlib.sha256(name.encode()).hexdigest(), 16))[:10]
    bban = f"INGB{digits}"
    return f"NL{iban_number.calc_check_digits('NL00' + bban)}{bban}"
