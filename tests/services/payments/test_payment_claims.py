"""Two bank entries applied at once to one invoice on PostgreSQL pay it once (``services.payments.applying.apply``).

PostgreSQL does not serialise write transactions as SQLite's ``BEGIN IMMEDIATE`` does: two people re-assigning two
entries to the same invoice both read it open and both applied their payment. The test stops B just before it
writes its application (``tests.interleave``), lets A re-assign the other entry, then lets B go on: one is applied,
the other is refused with the amount still open.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import BankEntry, PaymentApplication
from services.clock import FixedClock
from services.errors import ValidationFailed
from services.payments import import_statement, reassign
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.interleave import b_paused_for_a
from tests.services.payments.seed import booking, seed_invoices, statement

pytestmark = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)
CLOCK = FixedClock(dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC))
INVOICE = "NL2026-00003"  # 121.00


def test_two_entries_re_assigned_at_once_pay_an_invoice_once(settings: Settings) -> None:
    seed_invoices(settings)
    finn, anna = actor(settings, "finn"), actor(settings, "anna")
    payments = [booking("P-1", "121.00", "Someone", None, None, "payment"),
                booking("P-2", "121.00", "Someone else", None, None, "payment")]
    import_statement(settings, finn, statement(payments), "nov.xml", CLOCK)
    with UnitOfWork(engine_for(settings)) as uow:
        entries = dict(uow.session.execute(select(BankEntry.bank_reference, BankEntry.id)).tuples().all())
    refused: list[str] = []

    def a_reassigns() -> None:
        try:
            reassign(settings, anna, entries["P-2"], [INVOICE], CLOCK)
        except ValidationFailed as exc:
            refused.append(str(exc))

    def b_reassigns(_: threading.Event) -> str:
        try:
            return reassign(settings, finn, entries["P-1"], [INVOICE], CLOCK).status
        except ValidationFailed as exc:
            refused.append(str(exc))
            return "refused"

    b = b_paused_for_a(engine_for(settings), ("INSERT INTO payment_applications",), b_reassigns, a_reassigns)
    assert b == "applied"  # B had read the invoice open, and applied first
    assert len(refused) == 1 and "no longer fits what is open (0.00 EUR)" in refused[0], refused
    with UnitOfWork(engine_for(settings)) as uow:
        paid = uow.session.scalars(select(PaymentApplication.amount)
                                   .where(PaymentApplication.unapplied_at.is_(None))).all()
    assert paid == [Decimal("121.00")], "the invoice was paid twice"
