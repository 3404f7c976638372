"""Batched inserts for the nightly bulk paths: one executemany, each column's bind conversion run once per value.

Why: SQLAlchemy converts every parameter of every row (``ExactDecimal``, ``UtcDateTime``); a million snapshots repeat
a few hundred distinct quantities and one instant, so converting each distinct value once (with the column type's own
processor, so the stored text is exactly what the ORM would store) and handing the driver plain values keeps the
bulk path within the sync's throughput goals. SQLite gets one ``executemany``; PostgreSQL gets ``COPY ... FROM STDIN``
on the session's own connection (inside the unit of work's transaction), its data sent by a writer thread
(psycopg's ``QueuedLibpqWriter``) so this process formats the next rows while the server checks and stores the last;
rows may arrive as chunks built while the COPY runs (``insert_chunks``), so building them overlaps the server's work
too. JSON columns may be given as ready JSON text (``json_text``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType


class _Converted(UserDefinedType):
    """A bind parameter whose value is already in the driver's form: no processor, no cast."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "ANY"


class _Memo(dict):
    """Converted values by original value: each distinct value goes through the column type's processor once."""

    def __init__(self, processor: Callable[[Any], Any]) -> None:
        super().__init__()
        self.processor = processor

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = None if value is None else self.processor(value)
        return converted


def _converted(raw: Sequence[Any], processor: Callable[[Any], Any]) -> list[Any]:
    try:
        return list(map(_Memo(processor).__getitem__, raw))
    except TypeError:  # unhashable values (a dict for a JSON column): convert each one
        return [None if value is None else processor(value) for value in raw]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                json_text: Collection[str] = ()) -> int:
    """Insert ``rows`` (all with the same keys) into ``table``; keys in ``json_text`` hold JSON text already."""
    return insert_chunks(session, table, [rows], json_text)


def insert_chunks(session: Session, table: Table, chunks: Iterable[Sequence[dict[str, Any]]],
                  json_text: Collection[str] = ()) -> int:
    """Insert every row of ``chunks`` (all rows with the same keys), which may be produced while they are written.

    On PostgreSQL all chunks go through one COPY, so the server checks and stores one chunk while the caller builds
    the next (a night's snapshot texts); on SQLite each chunk is one executemany of the same compiled statement.
    Producing a chunk must not use the session: on PostgreSQL its connection is busy with the COPY.
    """
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _copy(session, table, chunks, json_text)
    written = 0
    for rows in chunks:
        if not rows:
            continue
        names = list(rows[0])
        statement, order = _sqlite_insert(table, dialect, tuple(names))
        columns = _columns(table, dialect, names, rows, json_text)
        session.connection().exec_driver_sql(statement, list(zip(*[columns[i] for i in order], strict=True)))
        written += len(rows)
    return written


@functools.lru_cache(maxsize=256)
def _sqlite_insert(table: Table, dialect: Dialect, names: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """The INSERT of ``names`` with plain parameters, and the position in ``names`` of each qmark in its order;
    compiled once per table and columns (a night writes its snapshots in many chunks)."""
    values = {name: bindparam(f"p_{name}", type_=_Converted()) for name in names}
    compiled = insert(table).values(values).compile(dialect=dialect)
    index = {f"p_{name}": position for position, name in enumerate(names)}
    return compiled.string, tuple(index[key] for key in compiled.positiontup)


def _columns(table: Table, dialect: Dialect, names: Sequence[str], rows: Sequence[dict[str, Any]],
             json_text: Collection[str]) -> list[Sequence[Any]]:
    """``rows`` as one sequence of driver values per column of ``names``."""
    columns: list[Sequence[Any]] = []
    by_column = zip(*(map(itemgetter(*names), rows) if len(names) > 1 else ([row[names[0]]] for row in rows)),
                    strict=True)  # rows -> columns without a Python loop per value
    for name, raw in zip(names, by_column, strict=True):
        processor = None if name in json_text else table.c[name].type._cached_bind_processor(dialect)
        columns.append(raw if processor is None else _converted(raw, processor))
    return columns


def _copy(session: Session, table: Table, chunks: Iterable[Sequence[dict[str, Any]]],
          json_text: Collection[str]) -> int:
    """COPY on the unit of work's own connection: same transaction, bulk speed; the column list is the first row's,
    and the COPY starts with the first non-empty chunk (none: nothing is sent)."""
    import psycopg  # the driver of PostgreSQL ledgers only
    from psycopg.copy import QueuedLibpqWriter

    dialect = session.get_bind().dialect
    pending = (rows for rows in chunks if rows)
    first = next(pending, None)
    if first is None:
        return 0
    names = list(first[0])
    cursor = session.connection().connection.driver_connection.cursor()
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    written = 0
    try:
        with cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for rows in itertools.chain([first], pending):
                for row in zip(*_columns(table, dialect, names, rows, json_text), strict=True):
                    copy.write_row(row)
                written += len(rows)
    except psycopg.Error as exc:  # as SQLAlchemy raises it on SQLite and for every other statement
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    return written


def insert_rows_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (same keys, every column they set given: no Python-side defaults) and return their new ids in
    row order. PostgreSQL: the ids are drawn from the table's sequence in one query and the rows copied with them,
    because a ``RETURNING`` batch of thousands of parameters is re-parsed by the driver page by page. SQLite: one
    plain ``executemany`` (``insert_rows``), then the ids above the table's highest id before it, in order: SQLite
    has one writer, and a row without an id gets the highest id plus one, so the new ids are the rows' in order (a
    ``RETURNING`` batch converted every value of every row once more, at several times the cost)."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        id_column = table.c.id
        before = session.scalar(select(func.max(id_column))) or 0
        insert_rows(session, table, rows)
        ids = list(session.scalars(select(id_column).where(id_column > before).order_by(id_column)))
        if len(ids) != len(rows):  # another writer in this transaction's place: never the case on SQLite
            raise RuntimeError(f"{table.name}: {len(rows)} rows inserted but {len(ids)} new ids found")
        return ids
    ids = list(session.connection().exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) FROM generate_series(1, %(count)s)",
        {"table": table.name, "count": len(rows)},
    ).scalars())
    insert_rows(session, table, [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
    return ids


def merge_by_key(session: Session, table: Table, rows: Sequence[dict[str, Any]], existing: dict[str, Any],
                 key: str, compared: Sequence[str], fixed: dict[str, Any]) -> tuple[int, int, int]:
    """Insert rows whose ``key`` is not in ``existing``, update those whose ``compared`` columns differ, leave equal
    ones alone; ``fixed`` columns (source, sync run) go on inserted and updated rows. Matched keys are removed from
    ``existing``, so what is left there afterwards is what the source no longer delivered.

    Returns ``(inserted, updated, unchanged)``.
    """
    inserts, updates, unchanged = [], [], 0
    for row in rows:
        old = existing.pop(row[key], None)
        if old is None:
            inserts.append({**row, **fixed})
        elif any(getattr(old, name) != row[name] for name in compared):
            updates.append({"_id": old.id, **{f"_{name}": value for name, value in {**row, **fixed}.items()
                                               if name in compared or name in fixed}})
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        names = [name for name in (*compared, *fixed) if f"_{name}" in updates[0]]
        statement = update(table).where(table.c.id == bindparam("_id")).values(
            {name: bindparam(f"_{name}") for name in names}
        )
        session.execute(statement, updates, execution_options={"synchronize_session": False})
    return len(inserts), len(updates), unchanged
