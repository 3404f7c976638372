"""Sync runs: one row per read of one source, with counts and errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ledger.models import SyncRun, utcnow
from ledger.repositories.base import Repository


class SyncRunRepository(Repository):
    def start(self, source: str, as_of: dt.datetime, tenant_id: int | None = None,
              runner: str | None = None) -> SyncRun:
        run = SyncRun(source=source, as_of=as_of, tenant_id=tenant_id, status="running", runner=runner)
        self.session.add(run)
        self.session.flush()
        return run

    def finish(
        self, run: SyncRun, status: str, counts: dict[str, Any], errors: list[Any], error: str | None = None
    ) -> SyncRun:
        run.status, run.counts, run.errors, run.error = status, counts, errors, error
        run.finished_at = utcnow()
        return run

    def running(self) -> Sequence[SyncRun]:
        """Runs not finished yet (live ones, and those whose process died before anyone noticed)."""
        return self.session.scalars(select(SyncRun).where(SyncRun.status == "running").order_by(SyncRun.id)).all()

    def abandon(self, run_id: int, now: dt.datetime, why: str) -> SyncRun | None:
        """Close a run whose process is gone: ``abandoned``, found at ``now``, ``why``; None if it ended meanwhile."""
        run = self.session.get_one(SyncRun, run_id)
        if run.status != "running":
            return None
        run.status, run.finished_at, run.error = "abandoned", now, f"abandoned: {why}"
        return run

    def recent(self, limit: int = 50, source: str | None = None) -> Sequence[SyncRun]:
        query = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        if source:
            query = query.where(SyncRun.source == source)
        return self.session.scalars(query).all()
