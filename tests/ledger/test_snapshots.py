"""Snapshots are history: they can be added and read, never changed or removed (ORM guard and database trigger)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from config import Settings
from ledger.append_only import AppendOnlyViolation
from ledger.models import Snapshot
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

DAY = dt.date(2026, 5, 1)


def _subscription(uow: UnitOfWork) -> int:
    tenant = uow.tenants.by_code("nl-bv")
    customer = uow.customers.add(tenant.id, "Fabrikam BV")
    sub = uow.subscriptions.add(
        tenant_id=tenant.id, customer_id=customer.id, source="pax8", external_id="sub-1", product_id="m365-e3",
        product_name="Microsoft 365 E3", term="P1Y", billing="P1M", currency="EUR",
    )
    return sub.id


def _snap(sub_id: int, day: dt.date, quantity: str) -> Snapshot:
    at = dt.datetime.combine(day, dt.time(2, 30), tzinfo=dt.UTC)
    return Snapshot(subscription_id=sub_id, observed_at=at, observed_on=day, quantity=Decimal(quantity),
                    status="active", product_id="m365-e3", currency="EUR", raw={"quantity": quantity}, raw_hash="")


@pytest.fixture
def engine(settings: Settings):
    initialise(settings)
    return engine_for(settings)


def test_quantity_on_day_and_since_when(engine) -> None:
    with UnitOfWork(engine, write=True) as uow:
        sub_id = _subscription(uow)
        for offset, quantity in [(0, "10"), (1, "10"), (4, "14"), (5, "14"), (9, "12")]:
            uow.snapshots.add(_snap(sub_id, DAY + dt.timedelta(days=offset), quantity))
    with UnitOfWork(engine) as uow:
        assert uow.snapshots.quantity_on(sub_id, DAY - dt.timedelta(days=1)) is None
        state = uow.snapshots.quantity_on(sub_id, DAY + dt.timedelta(days=7))
        assert (state.quantity, state.since) == (Decimal("14"), DAY + dt.timedelta(days=4))
        assert uow.snapshots.quantity_on(sub_id, DAY + dt.timedelta(days=20)).quantity == Decimal("12")
        assert len(uow.snapshots.history(sub_id)) == 5
        assert len(uow.snapshots.latest(sub_id).raw_hash) == 64


def test_repository_offers_no_update_or_delete(engine) -> None:
    with UnitOfWork(engine) as uow:
        repo = uow.snapshots
        assert not [name for name in dir(repo) if name.startswith(("update", "delete", "remove", "replace"))]


def test_changing_a_stored_snapshot_is_refused_and_nothing_is_written(engine) -> None:
    with UnitOfWork(engine, write=True) as uow:
        sub_id = _subscription(uow)
        snap_id = uow.snapshots.add(_snap(sub_id, DAY, "10")).id
    with pytest.raises(AppendOnlyViolation, match="append-only"), UnitOfWork(engine, write=True) as uow:
        uow.session.get(Snapshot, snap_id).quantity = Decimal("99")
    with pytest.raises(AppendOnlyViolation), UnitOfWork(engine, write=True) as uow:
        uow.session.delete(uow.session.get(Snapshot, snap_id))
    with UnitOfWork(engine) as uow:
        assert uow.snapshots.latest(sub_id).quantity == Decimal("10")


@pytest.mark.parametrize("statement", ["UPDATE snapshots SET quantity = '1'", "DELETE FROM snapshots"])
def test_database_refuses_rewriting_history_even_in_raw_sql(engine, statement: str) -> None:
    with UnitOfWork(engine, write=True) as uow:
        uow.snapshots.add(_snap(_subscription(uow), DAY, "10"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM snapshots")).scalar() == 1
