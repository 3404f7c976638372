"""The first batch of a legal entity is its go-live: a charge period that opened before it was billed by whatever
billed the reseller before cspbill, so neither that period nor credits and rebills of changes inside it are billed;
billing starts with the next period, and nothing is ever credited that cspbill did not invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from config import Settings
from ledger.models import InvoiceLine
from services.batches import build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC))


def _lines(settings: Settings) -> list[InvoiceLine]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(InvoiceLine).order_by(InvoiceLine.period_from, InvoiceLine.id)))


def test_a_period_opened_before_go_live_is_neither_charged_nor_credited(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Fabrikam")
    sub = add_subscription(settings, "nl-bv", customer, "sub-13th", "2026-03-13")  # cycles 13th..12th
    snapshot(settings, sub, "2026-09-20", 20)
    snapshot(settings, sub, "2026-10-05", 23)  # +3 seats inside the cycle 09-13..10-12, after go-live (10-01)
    build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), CLOCK)
    lines = _lines(settings)
    assert [(ln.kind, ln.period_from, ln.quantity) for ln in lines] == [
        ("charge", dt.date(2026, 10, 13), Decimal(23)),  # the first period cspbill bills, whole
    ]
    assert all(ln.amount > 0 for ln in lines)


def test_after_go_live_changes_inside_a_billed_period_are_credited_and_rebilled(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Fabrikam")
    sub = add_subscription(settings, "nl-bv", customer, "sub-1st", "2026-03-01")  # cycles on the 1st
    snapshot(settings, sub, "2026-09-20", 20)
    snapshot(settings, sub, "2026-10-05", 23)
    build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), CLOCK)
    kinds = sorted((ln.kind, ln.period_from, ln.quantity) for ln in _lines(settings))
    assert kinds == [
        ("charge", dt.date(2026, 10, 1), Decimal(20)),
        ("charge", dt.date(2026, 10, 5), Decimal(23)),
        ("credit", dt.date(2026, 10, 5), Decimal(20)),
    ]


def test_a_term_billed_before_go_live_needs_no_price_until_its_next_period(settings: Settings) -> None:
    """Partner Center snapshots carry no cost, and a term bought long before go-live has no cost line in the ledger:
    a month that bills nothing of that term must not report it as unpriced. A licence whose billed period has no
    price still is a problem (the monthly one here)."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Fabrikam")
    triennial = add_subscription(settings, "nl-bv", customer, "sub-3y", "2024-08-17", billing="P3Y", term="P3Y")
    annual = add_subscription(settings, "nl-bv", customer, "sub-1y", "2026-02-01", billing="P1Y", term="P3Y")
    monthly = add_subscription(settings, "nl-bv", customer, "sub-1m", "2026-08-04", billing="P1M", term="P1Y")
    seen = {sub: snapshot(settings, sub, "2026-10-31", 5, unit_cost=None) for sub in (triennial, annual, monthly)}
    report = build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), CLOCK)
    assert report.problems == [
        f"subscription {monthly} (CFQ7TTC0LH18:0001): no price rule, and no unit cost (snapshot {seen[monthly]} "
        "or cost line) for a markup rule, prices it on 2026-10-04"]
    assert _lines(settings) == []
