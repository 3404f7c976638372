"""Money and instants survive the database exactly: Decimal in, the same Decimal out, never a float."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError

from config import Settings
from ledger.models import FxRate, SyncRun
from ledger.types import canonical
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

VALUES = ["0.1", "0.2", "1234567890.123456789", "-5.806", "31.25", "100", "0.0000000001"]


@pytest.fixture
def engine(settings: Settings):
    initialise(settings)
    return engine_for(settings)


def test_decimals_round_trip_exactly(engine) -> None:
    with UnitOfWork(engine, write=True) as uow:
        for i, value in enumerate(VALUES):
            uow.session.add(FxRate(base="USD", quote="EUR", rate_date=dt.date(2026, 1, 1 + i), rate=Decimal(value),
                                   source="test"))
    with UnitOfWork(engine) as uow:
        rates = [r.rate for r in uow.session.query(FxRate).order_by(FxRate.rate_date)]
    assert rates == [Decimal(v) for v in VALUES]
    assert [str(r) for r in rates] == [str(canonical(Decimal(v))) for v in VALUES]
    assert all(isinstance(r, Decimal) for r in rates)


def test_floats_are_refused_for_money(engine) -> None:
    with pytest.raises(StatementError, match="Decimal, not float"), UnitOfWork(engine, write=True) as uow:
        uow.session.add(FxRate(base="USD", quote="EUR", rate_date=dt.date(2026, 1, 1), rate=0.1, source="x"))
        uow.flush()


def test_instants_are_utc_aware_and_naive_ones_refused(engine) -> None:
    at = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with UnitOfWork(engine, write=True) as uow:
        run_id = uow.sync_runs.start("pax8", at).id
    with UnitOfWork(engine) as uow:
        stored = uow.session.get(SyncRun, run_id).as_of
    assert stored == at and stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)
    with pytest.raises(StatementError, match="naive"), UnitOfWork(engine, write=True) as uow:
        uow.sync_runs.start("pax8", dt.datetime(2026, 1, 1))
