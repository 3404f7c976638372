"""SQLite ledgers are created with 16 KiB pages (``ledger.db``); one created before keeps its pages and works."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger.db import SQLITE_PAGE_SIZE, make_engine


def _header_page_size(database: Path) -> int:
    """The page size a SQLite file's header records (bytes 16-17, big-endian)."""
    return int.from_bytes(database.read_bytes()[16:18], "big")


def test_a_new_ledger_file_has_16_kib_pages(tmp_path: Path) -> None:
    database = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql("INSERT INTO t (body) VALUES ('x')")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE == 16_384
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    assert _header_page_size(database) == 16_384


def test_an_older_ledger_keeps_its_pages_and_its_rows(tmp_path: Path) -> None:
    """A ledger written with SQLite's default 4 KiB pages: opened by the ledger's engine it reads and writes as
    before (a page size only changes when the file's first table is written)."""
    database = tmp_path / "ledger.db"
    older = sqlite3.connect(database)
    older.execute("PRAGMA page_size=4096")
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    older.execute("INSERT INTO t (body) VALUES ('before')")
    older.commit()
    older.close()
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (body) VALUES ('after')")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert [row[0] for row in connection.exec_driver_sql("SELECT body FROM t ORDER BY id")] == ["before", "after"]
    engine.dispose()
    assert _header_page_size(database) == 4096
