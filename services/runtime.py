"""Process-wide resources for the services: one engine per database URL."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from config import Settings
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
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
