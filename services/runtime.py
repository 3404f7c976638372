"""Process-wide resources for the services: one engine per database URL."""

from __future__ import annotations

import atexit
import threading

from sqlalchemy import Engine

from config import Settings
from ledger import checkpoints
from ledger.db import make_engine

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The (cached) engine of the configured ledger database."""
    url = settings.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every engine's connections, once the checkpoints its writes asked for are done."""
    with _lock:
        for engine in _engines.values():
            checkpoints.wait(engine)
            engine.dispose()
        _engines.clear()


atexit.register(dispose_engines)  # a command's last writes reach the database file before the process ends
