"""Engines for the ledger: SQLite (WAL, foreign keys, IMMEDIATE write transactions) or PostgreSQL, same URL setting.

SQLite checkpoints its write-ahead log on a background thread after each write (``ledger.checkpoints``). JSON
columns are written by an encoder built once (``ledger.json_text``), with ``json.dumps``'s text.

Why 16 KiB pages on SQLite: a ledger is written in bulk (a night's snapshots, a month's invoice lines of about 800 bytes
each with their lineage), and every page costs its B-tree, write-ahead-log and checkpoint work. With 16 KiB pages the
building process of a full-scale first build (1.4 M subscriptions, 900 k lines) used 19 s of CPU instead of 23 s,
and the build took 56-59 s instead of 61-65 s; 32 KiB pages were slower again. A page size is fixed when the file's
first table is written, so this applies to ledgers created from now on; an older ledger keeps its 4 KiB pages
(``PRAGMA page_size`` on it changes nothing).

Why IMMEDIATE on SQLite: a unit of work that writes takes the write lock at BEGIN, so two processes assigning invoice
numbers serialise instead of failing with "database is locked" half-way through.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from ledger.checkpoints import checkpoint_in_background
from ledger.json_text import json_text

SQLITE_BEGIN_OPTION = "sqlite_begin"
SQLITE_PAGE_SIZE = 16_384  # bytes per page of a new SQLite ledger (see the module)


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine for the ledger URL; for SQLite files the parent folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        on_disk = sqlite_file(parsed.database)
        if on_disk:
            Path(on_disk).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, json_serializer=json_text,
                               connect_args={"timeout": 60, "check_same_thread": False})
        _configure_sqlite(engine)
        if on_disk:
            checkpoint_in_background(engine, on_disk)
        return engine
    return create_engine(url, echo=echo, json_serializer=json_text, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves (pysqlite's own is broken)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL mode: a new file is written with it
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def sqlite_file(database: str | None) -> str | None:
    """The file of a SQLite URL's database part; ``None`` for an in-memory ledger (one connection per thread)."""
    return database if database and database != ":memory:" else None


def is_sqlite_file(engine: Engine) -> bool:
    """A SQLite ledger in a file: each connection of the pool is its own, and reads in WAL mode run beside a write."""
    return is_sqlite(engine) and sqlite_file(engine.url.database) is not None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
