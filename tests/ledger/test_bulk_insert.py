"""The bulk writer stores exactly what a plain Core insert stores, chunked or not, and hands back ids in row order."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from config import Settings
from ledger.models import FxRate
from ledger.repositories.bulk_insert import (
    Columns,
    insert_behind,
    insert_chunks,
    insert_rows,
    insert_rows_returning_ids,
)
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only

TABLE = FxRate.__table__
RATES = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=Decimal("0.000001"), max_value=10**6)
ROWS = st.lists(st.tuples(st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)), st.sampled_from(["USD", "GBP", "CHF"]),
                          RATES), max_size=40, unique_by=lambda row: row[:2])
SOURCES = (f"bulk-{n}" for n in itertools.count())


def _stored(uow: UnitOfWork, source: str) -> list[tuple]:
    query = select(TABLE.c.base, TABLE.c.quote, TABLE.c.rate_date, TABLE.c.rate).where(TABLE.c.source == source)
    return sorted(uow.session.execute(query).tuples().all())


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, chunk=st.integers(1, 50))
def test_chunked_bulk_rows_equal_a_plain_insert(settings: Settings, rows: list, chunk: int) -> None:
    """Rows written chunk by chunk (``insert_rows``), or as chunks produced while one write runs (``insert_chunks``,
    empty chunks in between, every other chunk given as ``Columns``), store what a plain insert stores."""
    initialise(settings)
    bulk, streamed, plain = next(SOURCES), next(SOURCES), next(SOURCES)
    given_rows = [{"base": "EUR", "quote": quote, "rate_date": day, "rate": rate} for day, quote, rate in rows]

    def chunks(source: str, columns: bool = False):
        for start in range(0, len(given_rows), chunk):
            yield []
            rows = [{**row, "source": source} for row in given_rows[start:start + chunk]]
            by_column = columns and start // chunk % 2
            yield Columns({name: [row[name] for row in rows] for name in rows[0]}) if by_column else rows

    with UnitOfWork(engine_for(settings), write=True) as uow:
        for part in chunks(bulk):
            insert_rows(uow.session, TABLE, part)
        assert insert_chunks(uow.session, TABLE, chunks(streamed, columns=True)) == len(given_rows)
        if given_rows:
            uow.session.execute(insert(TABLE), [{**row, "source": plain} for row in given_rows])
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, bulk) == _stored(uow, plain) == _stored(uow, streamed)
        assert len(_stored(uow, bulk)) == len(rows)


@pytest.mark.parametrize("by_column", [False, True], ids=["rows", "columns"])
def test_ids_come_back_in_row_order(settings: Settings, by_column: bool) -> None:
    """Given as rows or as ``Columns`` (how a build writes its invoices)."""
    initialise(settings)
    rows = [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2026, 1, day), "rate": Decimal(day), "source": "ids"}
            for day in (5, 1, 3, 2)]
    given = Columns({name: [row[name] for row in rows] for name in rows[0]}) if by_column else rows
    with UnitOfWork(engine_for(settings), write=True) as uow:
        ids = insert_rows_returning_ids(uow.session, TABLE, given)
        assert insert_rows_returning_ids(uow.session, TABLE, []) == []
        assert insert_rows_returning_ids(uow.session, TABLE, Columns({"base": []})) == []
    with UnitOfWork(engine_for(settings)) as uow:
        stored = {row.id: row.rate_date for row in uow.session.scalars(select(FxRate).where(FxRate.source == "ids"))}
    assert len(set(ids)) == 4
    assert [stored[row_id] for row_id in ids] == [row["rate_date"] for row in rows]


@sqlite_only  # PostgreSQL draws the ids from the sequence before the rows are copied
def test_an_insert_not_alone_in_its_ids_is_refused(settings: Settings) -> None:
    """SQLite: the new ids are worked out, not read back, so anything else inserting into the table within the
    insert (here a trigger) fails the insert instead of handing back ids of other rows."""
    initialise(settings)
    rows = [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2026, 2, day), "rate": Decimal(day),
             "source": "doubled"} for day in (1, 2, 3)]
    with pytest.raises(RuntimeError, match="3 rows inserted but 6 new ids"), \
            UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.connection().exec_driver_sql(
            "CREATE TEMP TRIGGER doubled AFTER INSERT ON fx_rates WHEN NEW.source = 'doubled' BEGIN "
            "INSERT INTO fx_rates (base, quote, rate_date, rate, source) "
            "VALUES (NEW.base, NEW.quote, NEW.rate_date, NEW.rate, 'shadow'); END")
        insert_rows_returning_ids(uow.session, TABLE, rows)


def test_a_refused_row_leaves_none_of_the_batch(settings: Settings) -> None:
    """The last of thousands of rows breaks a unique constraint: the insert fails (on PostgreSQL from COPY's writer
    thread, after the other rows went to the server) and the unit of work stores nothing of it."""
    initialise(settings)
    rows = [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2000, 1, 1) + dt.timedelta(days=n),
             "rate": Decimal(n + 1), "source": "refused"} for n in range(5_000)]
    with pytest.raises(IntegrityError), UnitOfWork(engine_for(settings), write=True) as uow:
        insert_rows(uow.session, TABLE, [*rows, rows[0]])
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, "refused") == []


def test_rows_that_fail_to_build_mid_stream_leave_nothing(settings: Settings) -> None:
    """The chunks' producer fails after thousands of rows went to the writer: its own error reaches the caller, the
    writer has stopped, and the unit of work stores nothing."""
    initialise(settings)

    def chunks():
        for start in range(0, 20_000, 5_000):
            yield [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2000, 1, 1) + dt.timedelta(days=n),
                    "rate": Decimal(n + 1), "source": "broken"} for n in range(start, start + 5_000)]
        raise ValueError("record 20000: quantity is not a number")

    with pytest.raises(ValueError, match="record 20000"), UnitOfWork(engine_for(settings), write=True) as uow:
        insert_chunks(uow.session, TABLE, chunks())
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, "broken") == []


def test_a_value_the_driver_cannot_take_fails_the_write(settings: Settings) -> None:
    """A value no column can hold (an id beyond 64 bits) fails the write with the driver's error, never hangs it."""
    initialise(settings)
    rows = [{"id": 2**70, "base": "EUR", "quote": "USD", "rate_date": dt.date(2000, 1, 1), "rate": Decimal(1),
             "source": "huge"}]
    with pytest.raises((OverflowError, DBAPIError)), UnitOfWork(engine_for(settings), write=True) as uow:
        insert_rows(uow.session, TABLE, rows * 3)
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, "huge") == []


def test_rows_written_behind_are_all_there_once_waited_for(settings: Settings) -> None:
    """``insert_behind`` may return while SQLite's writer thread still stores the rows (a build rates its next range
    meanwhile): once ``wait`` returns, every row is in the transaction; on PostgreSQL the COPY is done at once."""
    initialise(settings)
    rows = [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2000, 1, 1) + dt.timedelta(days=n),
             "rate": Decimal(n + 1), "source": "behind"} for n in range(5_000)]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        written = insert_behind(uow.session, TABLE, [rows[:3_000], rows[3_000:]])
        assert written.count == 5_000
        written.wait()
        written.wait()  # a second wait has nothing to wait for
        assert len(_stored(uow, "behind")) == 5_000
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, "behind") == sorted((row["base"], row["quote"], row["rate_date"], row["rate"])
                                                for row in rows)


def test_a_row_refused_behind_fails_the_wait_and_leaves_none(settings: Settings) -> None:
    """A refused row written behind fails the caller's ``wait`` (on SQLite; at once on PostgreSQL) with the driver's
    error as SQLAlchemy raises it, and the unit of work stores nothing."""
    initialise(settings)
    rows = [{"base": "EUR", "quote": "USD", "rate_date": dt.date(2000, 1, 1) + dt.timedelta(days=n),
             "rate": Decimal(n + 1), "source": "refused-behind"} for n in range(5_000)]
    with pytest.raises(IntegrityError), UnitOfWork(engine_for(settings), write=True) as uow:
        insert_behind(uow.session, TABLE, [[*rows, rows[0]]]).wait()
    with UnitOfWork(engine_for(settings)) as uow:
        assert _stored(uow, "refused-behind") == []
