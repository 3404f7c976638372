"""The bulk reader gives exactly the values a Core read gives (same values, same types, on both databases), as
named tuples read by attribute, and a fresh JSON value per row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Column, Date, Engine, Integer, MetaData, String, Table, Text, cast, insert, select

from config import Settings
from ledger.repositories.bulk_read import read_rows
from ledger.types import ExactDecimal, UtcDateTime
from services.runtime import engine_for

METADATA = MetaData()
SAMPLES = Table(
    "bulk_read_samples", METADATA,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal),
    Column("day", Date),
    Column("seen", UtcDateTime),
    Column("flag", Boolean),
    Column("note", String(40)),
    Column("tags", JSON),
)
NOON = dt.datetime(2026, 5, 1, 12, 30, tzinfo=dt.UTC)
ROWS = [  # repeated values (converted once, handed to every row) and NULLs in every column
    {"id": 1, "amount": Decimal("12.50"), "day": dt.date(2026, 5, 1), "seen": NOON, "flag": True, "note": "a",
     "tags": {"env": "prod"}},
    {"id": 2, "amount": Decimal("12.5"), "day": dt.date(2026, 5, 1), "seen": NOON, "flag": False, "note": "a",
     "tags": {"env": "prod"}},
    {"id": 3, "amount": Decimal("-0.0000000001"), "day": dt.date(2026, 5, 31), "seen": NOON + dt.timedelta(days=1),
     "flag": True, "note": None, "tags": None},
    {"id": 4, "amount": None, "day": None, "seen": None, "flag": None, "note": "b", "tags": {}},
]


def _loaded(settings: Settings) -> Engine:
    """The ledger engine of this test's database (its pragmas, its pool), with the sample rows."""
    engine = engine_for(settings)
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(SAMPLES), ROWS)
    return engine


def test_rows_equal_a_core_read(settings: Settings) -> None:
    engine = _loaded(settings)
    query = select(SAMPLES, cast(SAMPLES.c.note, Text).label("note_text")).order_by(SAMPLES.c.id)
    with engine.connect() as connection:
        expected = connection.execute(query).all()
        found = read_rows(connection, query)
    assert [tuple(row) for row in found] == [tuple(row) for row in expected]
    for row, core in zip(found, expected, strict=True):
        assert [type(value) for value in row] == [type(value) for value in core]
        assert str(row.amount) == str(core.amount)  # canonical text, not only an equal value
    assert found[0].seen == NOON and found[0].day == dt.date(2026, 5, 1) and found[1].note_text == "a"


def test_each_row_gets_its_own_json_value(settings: Settings) -> None:
    engine = _loaded(settings)
    with engine.connect() as connection:
        first, second, *_ = read_rows(connection, select(SAMPLES.c.tags).order_by(SAMPLES.c.id))
    first.tags["env"] = "changed"
    assert second.tags == {"env": "prod"}


def test_no_rows(settings: Settings) -> None:
    engine = _loaded(settings)
    with engine.connect() as connection:
        assert read_rows(connection, select(SAMPLES).where(SAMPLES.c.id > 99)) == []
