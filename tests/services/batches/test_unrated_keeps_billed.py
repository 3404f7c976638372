"""A licence the build cannot rate (a fractional seat count from the vendor, a product without a price rule or a
cost) is reported, and what was billed for it stays as billed: the draft neither charges it nor corrects its
billed months to zero. Unknown is not zero: a correction to zero would credit the customer for a price the ledger
is missing. Both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import Invoice, InvoiceLine
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mark_exported, snapshot

OCTOBER = FixedClock(dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC))
NOVEMBER = FixedClock(dt.datetime(2026, 12, 2, 7, tzinfo=dt.UTC))


def _lines(settings: Settings, month: str) -> list[tuple[int | None, str, str, Decimal]]:
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, month)
        rows = uow.session.execute(
            select(InvoiceLine.subscription_id, InvoiceLine.kind, InvoiceLine.bill_month, InvoiceLine.amount)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(Invoice.batch_id == batch.id)
            .order_by(InvoiceLine.line_key)).all()
        return [tuple(row) for row in rows]


def _late_fraction(settings: Settings, sub: int) -> str:
    seen = snapshot(settings, sub, "2026-10-20", 2.5)  # type: ignore[arg-type]  # the vendor's count, as it came
    return f"snapshot {seen} quantity: 2.5 is not a whole number of seats"


def _unpriced_upgrade(settings: Settings, sub: int) -> str:
    seen = snapshot(settings, sub, "2026-11-01", 10, unit_cost=None, product="CFQ7TTC0NEW1:0001")
    return (f"subscription {sub} (CFQ7TTC0NEW1:0001): no price rule, and no unit cost (snapshot {seen} or cost "
            f"line) for a markup rule, prices it on 2026-11-01")


@pytest.mark.parametrize("late", [_late_fraction, _unpriced_upgrade], ids=["fractional seats", "unpriced product"])
def test_a_licence_the_build_cannot_rate_keeps_what_was_billed(settings: Settings, late) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Fabrikam")
    unrated = add_subscription(settings, "nl-bv", customer, "sub-unrated", "2026-10-01")
    rated = add_subscription(settings, "nl-bv", customer, "sub-rated", "2026-10-01")
    snapshot(settings, unrated, "2026-10-01", 10)
    snapshot(settings, rated, "2026-10-01", 4)
    build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), OCTOBER)
    approve_batch(settings, "nl-bv", "2026-10", actor(settings, "anna"), OCTOBER)
    mark_exported(settings, "nl-bv", "2026-10")
    assert [(sub, amount) for sub, _, _, amount in _lines(settings, "2026-10")] == [
        (unrated, Decimal("345.00")), (rated, Decimal("138.00"))]

    problem = late(settings, unrated)
    report = build_batch(settings, "nl-bv", "2026-11", actor(settings, "finn"), NOVEMBER)

    assert report.problems == [problem]
    assert _lines(settings, "2026-11") == [(rated, "charge", "2026-11", Decimal("138.00"))]
