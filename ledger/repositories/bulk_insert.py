"""Batched inserts for the nightly bulk paths, each column's bind conversion run once per distinct value.

Why: SQLAlchemy converts every parameter of every row (``ExactDecimal``, ``UtcDateTime``); a million snapshots repeat
a few hundred distinct quantities and one instant, so converting each distinct value once (with the column type's own
processor, so the stored text is exactly what the ORM would store) and handing the driver plain values keeps the
bulk path within the sync's throughput goals. SQLite gets multi-row ``INSERT`` statements run by a writer thread;
PostgreSQL gets ``COPY ... FROM STDIN``, its data sent by a writer thread (psycopg's ``QueuedLibpqWriter``); both on
the session's own connection, inside the unit of work's transaction. Rows may arrive as chunks built while the write
runs (``insert_chunks``), so this process formats the next rows while the database stores the last. JSON columns may
be given as ready JSON text (``json_text``).
"""

from __future__ import annotations

import functools
import itertools
import queue
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

SQLITE_PARAMETERS = 32_766  # parameters per SQLite statement at most (its default limit since 3.32)


class Memo(dict):
    """Converted values by original value: each distinct value goes through the column type's processor once."""

    def __init__(self, processor: Callable[[Any], Any]) -> None:
        super().__init__()
        self.processor = processor

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = None if value is None else self.processor(value)
        return converted


def _converted(raw: Sequence[Any], processor: Callable[[Any], Any]) -> list[Any]:
    try:
        return list(map(Memo(processor).__getitem__, raw))
    except TypeError:  # unhashable values (a dict for a JSON column): convert each one
        return [None if value is None else processor(value) for value in raw]


class Columns:
    """A chunk given column by column (``{column: values}``, every column as long as the chunk).

    Why: a producer that builds whole columns at once (a night's snapshots) then builds no dict per row, and the
    writer, which converts column by column, does not take the rows apart again."""

    def __init__(self, values: dict[str, Sequence[Any]]) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(next(iter(self.values.values()), ()))


Chunk = Sequence[dict[str, Any]] | Columns


def _names(chunk: Chunk) -> list[str]:
    return list(chunk.values) if isinstance(chunk, Columns) else list(chunk[0])


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                json_text: Collection[str] = ()) -> int:
    """Insert ``rows`` (all with the same keys) into ``table``; keys in ``json_text`` hold JSON text already."""
    return insert_chunks(session, table, [rows], json_text)


class Written:
    """Rows handed to the database (``count``); :meth:`wait` returns once they are stored and raises the failure of
    any, as the insert would have raised it. Until then the session's connection must not be used."""

    def __init__(self, count: int, writer: _StatementWriter | None = None) -> None:
        self.count, self._writer = count, writer

    def wait(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


def insert_chunks(session: Session, table: Table, chunks: Iterable[Chunk],
                  json_text: Collection[str] = ()) -> int:
    """Insert every row of ``chunks`` (all rows with the same keys, a chunk given as rows or as ``Columns``), which may
    be produced while they are written.

    On PostgreSQL all chunks go through one COPY; on SQLite through multi-row INSERTs run on a writer thread. Either
    way the database stores one chunk while the caller builds the next (a night's snapshot texts). Producing a chunk
    must not use the session: its connection is busy with the write.
    """
    written = insert_behind(session, table, chunks, json_text, wait=True)
    return written.count


def insert_behind(session: Session, table: Table, chunks: Iterable[Chunk], json_text: Collection[str] = (),
                  wait: bool = False) -> Written:
    """:func:`insert_chunks`, but on SQLite it returns once every row is handed to the writer thread, which may still
    be storing them: the caller goes on with work that does not need the session (a build rates its next range of
    customers on a connection of its own) and calls ``wait`` before the session's next statement. On PostgreSQL
    the COPY is complete when it returns."""
    pending = (rows for rows in chunks if rows)
    first = next(pending, None)
    if first is None:
        return Written(0)
    rows = itertools.chain([first], pending)
    if session.get_bind().dialect.name == "postgresql":
        return Written(_copy(session, table, _names(first), rows, json_text))
    written = _sqlite_write(session, table, _names(first), rows, json_text, behind=not wait)
    if wait:
        written.wait()
    return written


def _sqlite_write(session: Session, table: Table, names: list[str], chunks: Iterable[Chunk],
                  json_text: Collection[str], behind: bool) -> Written:
    """SQLite: rows regrouped into INSERTs of as many rows as the parameter limit allows, written by a thread.

    Why: one INSERT of a thousand rows costs SQLite about half what a thousand ``executemany`` steps cost, and
    Python's driver releases the interpreter lock while a statement runs, so the statement of one chunk overlaps the
    building of the next (an ``executemany`` takes the lock back after every row and overlaps nothing). ``behind``:
    the statements queue without bound, so the caller is not held back by the writer (it holds the rows anyway).
    """
    dialect = session.get_bind().dialect
    connection = session.connection().connection.driver_connection
    width = len(names)
    limit = min(connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), SQLITE_PARAMETERS)
    per_statement = max(1, limit // width) * width
    writer = _StatementWriter(connection, functools.partial(_sqlite_insert, table, dialect, tuple(names)),
                              0 if behind else 2)
    values: list[Any] = []
    written = 0
    try:
        for rows in chunks:
            values += itertools.chain.from_iterable(zip(*_columns(table, dialect, names, rows, json_text), strict=True))
            written += len(rows)
            while len(values) >= per_statement:
                writer.put(values[:per_statement], per_statement // width)
                del values[:per_statement]
        if values:
            writer.put(values, len(values) // width)
    except BaseException:  # building the rows failed: the writer stops, the caller's unit of work rolls back
        writer.stop()
        raise
    return Written(written, writer)


class _StatementWriter:
    """A thread running multi-row INSERTs on one SQLite connection while the caller builds the next rows.

    The caller must not use the connection until :meth:`close`, which waits for every statement and raises the first
    failure as SQLAlchemy raises driver errors (``IntegrityError`` ...); after a failure the rest is discarded, and
    the caller's unit of work rolls back. The thread is a daemon only so that a killed process does not hang on it:
    every write waits for it (:meth:`stop`).
    """

    def __init__(self, connection: sqlite3.Connection, statement: Callable[[int], str], queued: int) -> None:
        self.connection, self.statement = connection, statement
        self.queue: queue.Queue[tuple[list[Any], int] | None] = queue.Queue(maxsize=queued)
        self.failure: tuple[str, Exception] | None = None
        self.thread = threading.Thread(target=self._run, name="sqlite-bulk-insert", daemon=True)
        self.thread.start()

    def put(self, values: list[Any], rows: int) -> None:
        self.queue.put((values, rows))

    def _run(self) -> None:
        cursor = self.connection.cursor()
        try:
            while (item := self.queue.get()) is not None:
                if self.failure is None:
                    statement = self.statement(item[1])
                    try:
                        cursor.execute(statement, item[0])
                    except Exception as exc:  # any failure reaches the caller through close()
                        self.failure = (self.statement(1), exc)
        finally:
            cursor.close()

    def stop(self) -> None:
        """Wait for the statements queued so far (none is started after a failure)."""
        self.queue.put(None)
        self.thread.join()

    def close(self) -> None:
        """:meth:`stop`, then raise the first statement's failure, if any."""
        self.stop()
        if self.failure is not None:
            statement, exc = self.failure
            if not isinstance(exc, sqlite3.Error):  # a value the driver cannot bind (an integer beyond 64 bits)
                raise exc
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


@functools.lru_cache(maxsize=256)
def _sqlite_insert(table: Table, dialect: Dialect, names: tuple[str, ...], rows: int) -> str:
    """``INSERT INTO table (names) VALUES (?, ...), ...`` for ``rows`` rows (a few sizes per table and columns: the
    full statement and a night's last one)."""
    preparer = dialect.identifier_preparer
    row = "(" + ", ".join("?" * len(names)) + ")"
    return (f"INSERT INTO {preparer.format_table(table)} ({', '.join(map(preparer.quote, names))}) "
            f"VALUES {', '.join([row] * rows)}")


def _columns(table: Table, dialect: Dialect, names: Sequence[str], rows: Chunk,
             json_text: Collection[str]) -> list[Sequence[Any]]:
    """``rows`` as one sequence of driver values per column of ``names``."""
    columns: list[Sequence[Any]] = []
    if isinstance(rows, Columns):
        by_column: Iterable[Sequence[Any]] = [rows.values[name] for name in names]
    else:  # rows -> columns without a Python loop per value
        by_column = zip(*(map(itemgetter(*names), rows) if len(names) > 1 else ([row[names[0]]] for row in rows)),
                        strict=True)
    for name, raw in zip(names, by_column, strict=True):
        processor = None if name in json_text else table.c[name].type._cached_bind_processor(dialect)
        columns.append(raw if processor is None else _converted(raw, processor))
    return columns


def _copy(session: Session, table: Table, names: list[str], chunks: Iterable[Chunk],
          json_text: Collection[str]) -> int:
    """COPY on the unit of work's own connection: same transaction, bulk speed; its data is sent by a writer thread
    (psycopg's ``QueuedLibpqWriter``), so this process formats the next rows while the server stores the last."""
    import psycopg  # the driver of PostgreSQL ledgers only
    from psycopg.copy import QueuedLibpqWriter

    dialect = session.get_bind().dialect
    cursor = session.connection().connection.driver_connection.cursor()
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    written = 0
    try:
        with cursor, cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for rows in chunks:
                for row in zip(*_columns(table, dialect, names, rows, json_text), strict=True):
                    copy.write_row(row)
                written += len(rows)
    except psycopg.Error as exc:  # as SQLAlchemy raises it on SQLite and for every other statement
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    return written


def insert_rows_returning_ids(session: Session, table: Table, rows: Chunk,
                              json_text: Collection[str] = ()) -> list[int]:
    """Insert ``rows`` (same keys, every column they set given: no Python-side defaults; or ``Columns``) and return
    their new ids in row order; keys in ``json_text`` hold JSON text already. PostgreSQL: the ids are drawn from the
    table's sequence in one query and the rows copied with them, because a ``RETURNING`` batch of thousands of
    parameters is re-parsed by the driver page by page. SQLite: the rows inserted (``insert_chunks``); SQLite has one
    writer, and a row without an id gets the highest id plus one, so the new ids are the ones following the table's
    highest id before it, in row order. That is checked, not read: as many ids above it as rows, the highest the
    last of them (a ``RETURNING`` batch converted every value of every row once more, at several times the cost;
    reading the ids back, a row object each, was a tenth of storing a build's invoices)."""
    if not len(rows):
        return []
    if session.get_bind().dialect.name != "postgresql":
        id_column = table.c.id
        before = session.scalar(select(func.max(id_column))) or 0
        insert_chunks(session, table, [rows], json_text)
        count, highest = session.execute(select(func.count(id_column), func.max(id_column))
                                         .where(id_column > before)).one()
        if (count, highest) != (len(rows), before + len(rows)):  # another writer in its place: never on SQLite
            raise RuntimeError(f"{table.name}: {len(rows)} rows inserted but {count} new ids found, up to {highest}")
        return list(range(before + 1, before + len(rows) + 1))
    ids = list(session.connection().exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) FROM generate_series(1, %(count)s)",
        {"table": table.name, "count": len(rows)},
    ).scalars())
    with_ids: Chunk = (Columns({"id": ids, **rows.values}) if isinstance(rows, Columns)
                       else [{"id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
    insert_chunks(session, table, [with_ids], json_text)
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
