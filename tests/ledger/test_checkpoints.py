"""SQLite checkpoints run on a background thread after a write (``ledger.checkpoints``), never inside the commit.

What is checked through the database file itself: a copy of the main file alone (no ``-wal``) holds a committed row
only once a checkpoint has copied it there.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ledger import checkpoints
from ledger.db import make_engine


def _rows_in_main_file(database: Path, copy: Path) -> int:
    """Rows of ``t`` in a copy of the database's main file, without its write-ahead log."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        connection.close()


def _ledger(tmp_path: Path) -> tuple[Path, Engine]:
    """A new SQLite file with a table ``t``, through the ledger's own engine."""
    database = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return database, engine


def test_a_commit_leaves_the_copy_to_the_checkpoint_thread(tmp_path: Path) -> None:
    database, engine = _ledger(tmp_path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() == checkpoints.JOURNAL_SIZE_LIMIT
    checkpoints.wait(engine)
    with engine.begin() as connection:  # a few rows: far below SQLite's own 1,000-page threshold
        connection.execute(text("INSERT INTO t (body) VALUES (:body)"), [{"body": "x" * 100}] * 3)
    checkpoints.wait(engine)
    assert _rows_in_main_file(database, tmp_path / "copy.db") == 3
    engine.dispose()


def test_every_write_before_the_wait_is_in_the_file(tmp_path: Path) -> None:
    """Writes from several connections, one of them while a checkpoint may run: the wait covers them all."""
    database, engine = _ledger(tmp_path)
    for _ in range(5):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (body) VALUES (:body)"), [{"body": "y" * 2000}] * 500)
    checkpoints.wait(engine)
    assert _rows_in_main_file(database, tmp_path / "copy.db") == 2500
    engine.dispose()


def test_a_read_asks_for_no_checkpoint(tmp_path: Path) -> None:
    database, engine = _ledger(tmp_path)
    checkpoints.wait(engine)
    checkpointer = checkpoints._checkpointers[str(database.absolute())]
    requested = checkpointer.requested
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM t").scalar()
    assert checkpointer.requested == requested
    engine.dispose()


def test_a_removed_database_is_not_created_again(tmp_path: Path) -> None:
    database, engine = _ledger(tmp_path)
    checkpoints.wait(engine)
    engine.dispose()
    for path in tmp_path.iterdir():
        path.unlink()
    checkpointer = checkpoints._checkpointers[str(database.absolute())]
    checkpointer.request()
    checkpoints.wait(engine)
    assert list(tmp_path.iterdir()) == []


def test_waiting_on_a_database_without_a_file_returns_at_once() -> None:
    checkpoints.wait(make_engine("sqlite://"))
    checkpoints.wait(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))


def test_a_forked_child_checkpoints_its_own_writes(tmp_path: Path) -> None:
    """A child forked while the parent's checkpoint thread runs has no such thread: its writes start its own."""
    database, engine = _ledger(tmp_path)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
    checkpoints.wait(engine)
    engine.dispose()
    checkpointer = checkpoints._checkpointers[str(database.absolute())]
    assert checkpointer.thread is not None  # idle, but alive for IDLE_SECONDS
    pid = os.fork()
    if pid == 0:  # the child: write, wait, and report through its exit status
        status = 1
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
            checkpoints.wait(engine)
            status = 0 if _rows_in_main_file(database, tmp_path / "child.db") == 2 else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    checkpoints.wait(engine)


def test_a_thread_that_fails_unexpectedly_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint failing with something other than a database error ends its thread; waiting still returns, and
    the next write starts a new thread that copies everything."""
    database, engine = _ledger(tmp_path)
    checkpointer = checkpoints._checkpointers[str(database.absolute())]
    real = checkpoints._Checkpointer._checkpoint
    failures = []

    def fail_once(self: checkpoints._Checkpointer) -> None:
        if not failures:
            failures.append(1)
            raise RuntimeError("injected")
        real(self)

    monkeypatch.setattr(checkpoints._Checkpointer, "_checkpoint", fail_once)
    monkeypatch.setattr(threading, "excepthook", lambda _args: None)  # the injected failure is expected
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
    checkpoints.wait(engine)
    assert failures
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
    checkpoints.wait(engine)
    assert checkpointer.thread is not None
    assert _rows_in_main_file(database, tmp_path / "copy.db") == 2
    engine.dispose()
