"""SQLite WAL checkpoints on a background thread, one per database file, after each write.

Why: by default SQLite copies the write-ahead log back into the database file inside the commit that crosses 1,000
pages, so a commit of a night's million snapshots (about a gigabyte) also waits for that copy and its ``fsync``
(about 14 % of a first night's sync). The SQLite documentation names the alternative: turn the automatic checkpoint
off and run checkpoints in a separate thread (https://www.sqlite.org/wal.html, "Application-Initiated
Checkpoints"). Here every connection of the ledger's engine has ``wal_autocheckpoint=0``; a connection that
changed rows asks for a checkpoint when it goes back to the pool (after its commit), and a thread runs it
(``PASSIVE``: it never blocks readers or the next writer) on its own connection while the process goes on with the
next source.

Durability stays what ``synchronous=NORMAL`` in WAL mode gives (https://www.sqlite.org/pragma.html#pragma_synchronous):
a commit survives a crash of the process, since the log is the record of the transaction and a checkpoint only
copies pages already committed there; after a power loss the last commits may roll back until a checkpoint has
synced the log, as any commit below 1,000 pages always could. The log grows while the checkpoints trail the writes
(up to one night's writes); ``journal_size_limit`` trims it back when it next restarts. Work that should end with
the database file complete (a sync run, a batch build, disposing the engines at exit) calls :func:`wait`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes of WAL file kept after it restarts
IDLE_SECONDS = 5.0  # an idle checkpoint thread ends after this long; the next request starts a new one
CHANGES = "cspbill_total_changes"  # connection-record info: the connection's row changes at its last request

_checkpointers: dict[str, _Checkpointer] = {}
_registry_lock = threading.Lock()


class _Checkpointer:
    """Checkpoints of one database file, requested by any thread, run one at a time by a daemon thread.

    Requests are counted: a request made while a checkpoint runs is served by another checkpoint after it, so
    :meth:`wait` returns only when every page committed before the call has been copied (or copying failed).
    """

    def __init__(self, path: str) -> None:
        self.uri = Path(path).absolute().as_uri() + "?mode=rw"  # never creates a file removed meanwhile
        self.reset()

    def reset(self) -> None:
        """No thread and nothing pending (also in a forked child, which has none of its parent's threads)."""
        self.condition = threading.Condition()
        self.requested = self.done = 0
        self.thread: threading.Thread | None = None

    def request(self) -> None:
        with self.condition:
            self.requested += 1
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self.thread.start()
            self.condition.notify_all()

    def wait(self) -> None:
        with self.condition:
            target = self.requested
            self.condition.wait_for(lambda: self.done >= target)

    def _run(self) -> None:
        try:
            while True:
                with self.condition:
                    if not self.condition.wait_for(lambda: self.done < self.requested, timeout=IDLE_SECONDS):
                        self.thread = None  # under the lock: a request from now on starts a new thread
                        return
                    target = self.requested
                try:
                    self._checkpoint()
                finally:
                    with self.condition:
                        self.done = target
                        self.condition.notify_all()
        except BaseException:  # an unexpected failure: the next request starts a new thread
            with self.condition:
                self.thread = None
            raise

    def _checkpoint(self) -> None:
        try:
            connection = sqlite3.connect(self.uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:  # the file is gone (a removed test or demo database): nothing to copy
            log.debug("checkpoint of %s skipped: %s", self.uri, exc)
            return
        try:
            busy, pages, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            log.debug("checkpoint of %s: %s of %s WAL pages copied (busy=%s)", self.uri, copied, pages, busy)
        except sqlite3.Error as exc:  # not fatal: the pages stay in the log, the next checkpoint copies them
            log.warning("checkpoint of %s failed: %s", self.uri, exc)
        finally:
            connection.close()


def _reset_after_fork() -> None:
    for checkpointer in _checkpointers.values():
        checkpointer.reset()


os.register_at_fork(after_in_child=_reset_after_fork)


def checkpoint_in_background(engine: Engine, path: str) -> None:
    """Turn ``engine``'s automatic checkpoints off and run them on a thread after each commit (see the module)."""
    with _registry_lock:
        checkpointer = _checkpointers.setdefault(_key(path), _Checkpointer(path))

    @event.listens_for(engine, "connect")
    def _no_automatic_checkpoint(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
        dbapi_connection.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        if dbapi_connection is None or record is None:  # a connection invalidated and closed: nothing committed
            return
        changes = dbapi_connection.total_changes
        if changes != record.info.get(CHANGES, 0):
            record.info[CHANGES] = changes
            checkpointer.request()


def wait(engine: Engine) -> None:
    """Wait until the checkpoints requested by ``engine``'s commits so far are done (a no-op for PostgreSQL)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    checkpointer = _checkpointers.get(_key(database)) if database else None
    if checkpointer is not None:
        checkpointer.wait()


def _key(path: str) -> str:
    return str(Path(path).absolute())
