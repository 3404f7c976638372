"""Who runs what, and whether that runner is still there.

Why: a process killed with SIGKILL (or a power cut) never finishes what it started: an outbox row stays ``sending``,
a sync run or a job run stays ``running`` for ever. Every such record therefore carries its runner,
``host:pid:token``, and the next process asks here whether that runner is gone before it takes the record over or
closes it. The token tells two runs of one process apart (a scheduler thread, a web request), and a pid reused
after a reboot does not look alive: a runner of *this* process is alive only while its ``running()`` block is open.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

HOST = socket.gethostname()
_active: set[str] = set()
_active_lock = threading.Lock()


@contextmanager
def running() -> Iterator[str]:
    """A runner id ``host:pid:token`` that stays alive (for ``gone_because``) while the block runs."""
    runner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _active_lock:
        _active.add(runner)
    try:
        yield runner
    finally:
        with _active_lock:
            _active.discard(runner)


def gone_because(runner: str | None, since: dt.datetime | None, now: dt.datetime, ttl: dt.timedelta) -> str | None:
    """Why the runner of a record that started at ``since`` is gone, or ``None`` while it may still be running.

    This process: gone once its ``running()`` block ended. Another process on this host: gone when its pid is.
    Another host (or a record from before runners were recorded): gone when ``ttl`` has passed since ``since``, the
    lease any run of that kind holds.
    """
    host, pid = _host_and_pid(runner)
    if host == HOST and pid == os.getpid():
        with _active_lock:
            return None if runner in _active else f"runner {runner} of this process has ended"
    if host == HOST and pid is not None:
        return None if _alive(pid) else f"process {pid} on {host} is gone"
    if since is None or now - since > ttl:
        return f"no sign of life from {runner or 'an unrecorded runner'} for more than {_hours(ttl)}"
    return None


def _host_and_pid(runner: str | None) -> tuple[str | None, int | None]:
    if not runner:
        return None, None
    host, pid, *_token = [*runner.rsplit(":", 2), ""]
    return host, int(pid) if pid.isdigit() else None


def _hours(ttl: dt.timedelta) -> str:
    return f"{ttl.total_seconds() / 3600:g} h" if ttl >= dt.timedelta(hours=1) else f"{ttl.total_seconds() / 60:g} min"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
