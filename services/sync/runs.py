"""The nightly sync as people see it: the last runs of each source, with counts and errors (read-only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from config import Settings
from services.access import Actor, readable_tenants
from services.runtime import engine_for
from services.uow import UnitOfWork


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


def last_sync_runs(settings: Settings, who: Actor, per_source: int = 5) -> dict[str, list[SyncRunRow]]:
    """The last runs of every configured source of the actor's legal entities (newest first)."""
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
                           dict(r.counts or {}), list(r.errors or []), r.error)
                for r in runs
            ]
        return result
