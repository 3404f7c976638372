"""The billed view reads, of each line's lineage, only what its correction says should be billed now: the text of
``lineage.correction.should`` as the database extracts it from the JSON, and nothing for a line that corrects
nothing (a charge, or a first version billed late), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import insert, select

from config import Settings
from ledger.models import Batch, Invoice, InvoiceLine
from ledger.repositories.discrepancies import BilledView
from services.batches.billed_seats import billed_seats
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.services.batches.test_batch_support import add_customer, add_subscription

SPAN = (dt.date(2026, 5, 1), dt.date(2026, 5, 31))
LINES = [  # key, kind, version, quantity, amount, lineage
    ("a", "charge", 1, "3", "30.00", {"formula": "3 × 10.00 × 31/31"}),
    ("a", "correction", 2, "1", "-30.00", {"correction": {"should": "0", "billed": "30.00"}}),
    ("b", "charge", 1, "2", "20.00", {"formula": "2 × 10.00 × 31/31"}),
    ("b", "correction", 2, "1", "1.50", {"correction": {"should": "21.50", "billed": "20.00"}, "reprice": "r"}),
    ("c", "correction", 1, "2", "20.00", {"late": {"reason": "late_snapshot"}}),
]


def test_the_billed_view_reads_what_a_correction_should_bill_and_nothing_else(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "View B.V.")
    sub = add_subscription(settings, "nl-bv", customer, "s-view", "2026-05-01")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        batch = Batch(tenant_id=tenant_id, month="2026-05", built_by="finn",
                      built_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        uow.session.add(batch)
        uow.session.flush()
        batch_id = batch.id  # a draft's lines are in the view the review reads (sealed once approved)
        invoice_id = uow.session.scalar(insert(Invoice).returning(Invoice.id).values(
            batch_id=batch.id, tenant_id=tenant_id, customer_id=customer, invoice_key="2026-05/view", currency="EUR",
            net=Decimal("51.50"), vat=Decimal(0), gross=Decimal("51.50")))
        for key, kind, version, quantity, value, lineage in LINES:
            uow.session.execute(insert(InvoiceLine).values(
                invoice_id=invoice_id, tenant_id=tenant_id, customer_id=customer, subscription_id=sub,
                line_key=f"{key}#{version}", base_key=f"nl-bv/{customer}/{sub}/2026-05-01..2026-05-31/{key}",
                version=version, kind=kind, description="seats", quantity=Decimal(quantity), unit_price=Decimal(value),
                amount=Decimal(value), unrounded=Decimal(value), currency="EUR", vat_rate=Decimal(0),
                bill_month="2026-05", period_from=SPAN[0], period_to=SPAN[1], lineage=lineage))
    with UnitOfWork(engine_for(settings)) as uow:
        rows = uow.discrepancies.billed_lines([sub], *SPAN, draft=batch_id)
        ids = uow.session.scalars(select(InvoiceLine.id).order_by(InvoiceLine.id)).all()
    assert all(isinstance(row, BilledView) for row in rows)
    assert [(row.id, row.kind, row.version, row.amount, row.should) for row in rows] == [
        (ids[0], "charge", 1, Decimal("30.00"), None), (ids[1], "correction", 2, Decimal("-30.00"), "0"),
        (ids[2], "charge", 1, Decimal("20.00"), None), (ids[3], "correction", 2, Decimal("1.50"), "21.50"),
        (ids[4], "correction", 1, Decimal("20.00"), None)]
    # a: 3 seats, reversed (should 0); b: 2 seats, repriced (money only); c: 2 seats billed late
    assert billed_seats(rows, dt.date(2026, 5, 10)) == Decimal(4)
