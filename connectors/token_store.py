"""A file that holds one OAuth client's rotating refresh token (Exact Online), written so a crash cannot corrupt it.

Why this matters: Exact's refresh tokens are single-use (erp.md §4.4). The moment the token endpoint answers, the
refresh token in our store is dead and the only live one is in that answer. Losing it means a human re-authorises.

How a refresh runs (``TokenStore.refresh``), and what a crash at each point leaves behind:

1. Take an exclusive ``flock`` on ``<file>.lock`` (serialises refreshers across threads and processes), re-read the
   file: another process may have refreshed while we waited; if its access token is still fresh, use it.
   *Crash here*: nothing changed.
2. Write an intent marker (``refresh_started_at``) atomically. *Crash here*: the old refresh token is still valid
   (nothing was sent); the next run refreshes normally and clears the marker.
3. Call the token endpoint. *Crash before the server processed it*: as 2.
   *Crash after the server rotated but before step 4 finished* (or the answer was lost on the wire): the stored
   refresh token is dead and the new one is gone. No client can close this window with single-use tokens; we make
   it as short as one round trip plus one fsync (nothing else happens between answer and store: no logging of the
   body, no API call). The next run gets ``invalid_grant``, sees the marker, and raises a clear "re-authorise"
   error instead of hammering the token endpoint (200 calls/day budget).
4. Store the new pair atomically: write a temp file in the same directory, ``fsync`` it, ``os.replace`` it over the
   store, ``fsync`` the directory. *Crash before the rename*: the old file is intact (as 3). *Crash after*: the new
   refresh token is durable.
5. Only now return the access token to the caller. *Crash after 4, before or while using it*: the next run finds
   the new pair; it uses the stored access token while fresh, else refreshes with the stored refresh token.

The file is created with mode 0600 and holds secrets: never log its content.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class StoredTokens:
    """The persisted pair plus bookkeeping; times are Unix seconds."""

    refresh_token: str
    access_token: str | None = None
    access_expires_at: float | None = None
    refreshed_at: float | None = None
    refresh_started_at: float | None = None  # intent marker: a refresh was in flight (see module doc, step 2)

    def access_fresh(self, now: float, margin: float = 30.0) -> bool:
        return bool(self.access_token and self.access_expires_at and self.access_expires_at - margin > now)

    def __repr__(self) -> str:  # secrets must never reach a log line through a repr
        return f"StoredTokens(refreshed_at={self.refreshed_at}, access_expires_at={self.access_expires_at})"


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answered."""

    access_token: str
    refresh_token: str
    expires_in: float


class RefreshInterrupted(Exception):
    """The previous refresh died after it was sent: the stored refresh token was probably consumed."""


class TokenStore:
    """One JSON file per OAuth client and user; see the module doc for the crash analysis."""

    _thread_locks: dict[str, threading.Lock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        with self._registry_lock:
            self._thread_lock = self._thread_locks.setdefault(str(self.path.resolve()), threading.Lock())

    def read(self) -> StoredTokens | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        return StoredTokens(**data)

    def write(self, tokens: StoredTokens) -> None:
        """Atomic and durable: temp file + fsync + rename + directory fsync."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump(asdict(tokens), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across threads (a process-wide lock per file) and processes (``flock`` on a side file)."""
        with self._thread_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(self.path.name + ".lock"), "a") as lock_file:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def access_token(self, refresh: Callable[[str], TokenGrant], *, force: bool = False,
                     stale: str | None = None) -> str:
        """A usable access token: the stored one while fresh, else one refresh (steps 1-5 of the module doc).

        ``refresh`` calls the token endpoint with the given refresh token. ``stale`` names an access token the API
        just refused: refresh unless another process already replaced it. Raises ``RefreshInterrupted`` when the
        endpoint refuses a token whose last refresh was interrupted, and whatever ``refresh`` raises otherwise.
        """
        with self.locked():
            stored = self.read()
            if stored is None:
                raise FileNotFoundError(f"no refresh token stored in {self.path}: authorise first")
            now = self._clock()
            replaced = stale is not None and stored.access_token != stale
            if not force and stored.access_fresh(now) and (stale is None or replaced):
                return stored.access_token  # type: ignore[return-value]
            interrupted = stored.refresh_started_at is not None
            self.write(replace(stored, refresh_started_at=now))
            try:
                grant = refresh(stored.refresh_token)
            except Exception as exc:
                if interrupted and _is_invalid_grant(exc):
                    raise RefreshInterrupted(
                        f"the refresh started at {stored.refresh_started_at:.0f} never stored its answer; the refresh"
                        " token was consumed: re-authorise this connection") from exc
                raise
            self.write(StoredTokens(refresh_token=grant.refresh_token, access_token=grant.access_token,
                                    access_expires_at=now + grant.expires_in, refreshed_at=now))
            return grant.access_token


def _is_invalid_grant(exc: Exception) -> bool:
    return "invalid_grant" in str(exc)
