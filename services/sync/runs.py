"""The nightly sync as people see it: the last runs of each source, with counts and errors; runs whose process died
are closed as ``abandoned`` before they are shown (``services.abandoned``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from config import Settings
from services.abandoned import close_abandoned
from services.access import Actor, readable_tenants
from services.runtime import engine_for
from services.uow import UnitOfWork

# A sync run on another host is presumed dead after this long (a night's read takes minutes); its lease as long.
SYNC_RUN_TTL = dt.timedelta(hours=6)


def sync_lease(source: str) -> str:
    """The lease a run of ``source`` holds from its start to its end (``services.sync.run``)."""
    return f"sync:{source}"


@dataclass(frozen=True)
class SyncRunRow:
    id: int
    source: str
    tenant: str | None
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    counts: dict[str, Any]
    errors: list[Any]
    error: str | None
    runner: str | None


def close_abandoned_sync_runs(engine: Engine, now: dt.datetime | None = None) -> list[int]:
    """Close the ``running`` sync runs whose process is gone (``abandoned``, when and why), and free their sources'
    leases; returns their ids."""
    return close_abandoned(engine, "sync_runs", "sync_run", SYNC_RUN_TTL, now,
                           on_abandon=lambda uow, run: uow.leases.release(sync_lease(run.source), run.runner))


def last_sync_runs(settings: Settings, who: Actor, per_source: int = 5) -> dict[str, list[SyncRunRow]]:
    """The last runs of every configured source of the actor's legal entities (newest first)."""
    close_abandoned_sync_runs(engine_for(settings))
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        visible_codes = set(tenants.values())
        result: dict[str, list[SyncRunRow]] = {}
        for source in settings.sources:
            if source.tenant not in visible_codes:
                continue
            runs = uow.sync_runs.recent(limit=per_source, source=source.name)
            result[source.name] = [
                SyncRunRow(r.id, r.source, source.tenant, r.as_of, r.started_at, r.finished_at, r.status,
                           dict(r.counts or {}), list(r.errors or []), r.error, r.runner)
                for r in runs
            ]
        return result
