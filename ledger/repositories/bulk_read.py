"""Bulk reads (a month-end build, reconciliation): rows as named tuples, each column's conversion run once per value.

Why: a build reads every subscription, snapshot and customer of a legal entity (millions of rows at the largest
hosts), and a Core read converts every value of every row: ``ExactDecimal`` parses and normalises each quantity's
text, SQLite's dates and instants are parsed from text. That was about two thirds of reading the snapshots. The
rows repeat few distinct quantities, costs, days and statuses, so the query is run with its columns' types set
aside (the driver's values come back as they are) and each distinct value is converted once, by the column type's
own result processor: the values are exactly those a Core read gives (``tests/ledger/test_bulk_read.py``). The rows
are named tuples with the query's column names, read by attribute as Core rows are, at a sixth of the cost (a
build reads their attributes millions of times). The counterpart of ``ledger.repositories.bulk_insert``, which
converts each distinct value once on the way in.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, Connection, Select, type_coerce
from sqlalchemy.types import NullType

from ledger.repositories.bulk_insert import Memo


def read_rows(connection: Connection, query: Select, make: Callable[[Iterable[Any]], Any] | None = None) -> list[Any]:
    """The rows of ``query`` (columns with distinct names), converted as a Core read converts them. Their class is
    made for the query, so they do not pickle: they stay in the process that read them (a Dask worker returns
    invoices, not rows). ``make`` builds each row from its values instead (the caller's own named tuple's
    ``_make``, its fields the query's columns in order)."""
    columns = list(query.selected_columns)
    names = [column.key for column in columns]
    result = connection.execute(query.with_only_columns(
        *(type_coerce(column, NullType()).label(name) for column, name in zip(columns, names, strict=True))))
    description = result.cursor.description
    converters: list[Callable[[Any], Any] | None] = []
    for column, described in zip(columns, description, strict=True):
        processor = column.type._cached_result_processor(connection.dialect, described[1])
        # a JSON value is a mutable dict: each row gets its own
        converters.append(processor if processor is None or isinstance(column.type, JSON)
                          else Memo(processor).__getitem__)
    found = result.cursor.fetchall()  # the driver's tuples: no result row object is built for them
    result.close()
    if not found:
        return []
    if make is None:
        make = namedtuple("Row", names)._make  # type: ignore[misc]  # the query's own column names
    if any(converters):
        by_column = [raw if convert is None else map(convert, raw)
                     for convert, raw in zip(converters, zip(*found, strict=True), strict=True)]
        found = zip(*by_column, strict=True)
    return list(map(make, found))
