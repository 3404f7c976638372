"""Claims on outbox rows: which run is sending a row, and whether that run is gone.

Why: a row in ``sending`` whose run crashed must be looked up and resolved by the next run, but a row a live run
holds must never be taken over (two sends of one invoice). A run id ``host:pid:token`` is live while its run is.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ledger.models import Export

CLAIM_TTL = dt.timedelta(minutes=30)  # a claim by a run on another host is presumed dead after this long

FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)
_HOST = socket.gethostname()
_active: set[str] = set()
_active_lock = threading.Lock()


@contextmanager
def run_claim() -> Iterator[str]:
    """A run id ``host:pid:token`` that claims rows; live while the run is, so its claims are never stolen."""
    runner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _active_lock:
        _active.add(runner)
    try:
        yield runner
    finally:
        with _active_lock:
            _active.discard(runner)


def orphaned(row: Export, now: dt.datetime) -> bool:
    """Is the run that claimed this ``sending`` row gone? Ours: gone when no longer active; another process on this
    host: gone when its pid is; another host: when the claim is older than ``CLAIM_TTL``."""
    if not row.claimed_by:
        return True
    host, pid, _token = [*row.claimed_by.rsplit(":", 2), "", ""][:3]
    if host == _HOST and pid == str(os.getpid()):
        with _active_lock:
            return row.claimed_by not in _active
    if host == _HOST and pid.isdigit():
        return not _alive(int(pid))
    return row.claimed_at is None or now - row.claimed_at > CLAIM_TTL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
