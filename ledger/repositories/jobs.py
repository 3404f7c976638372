"""Job runs and leases: what the scheduler did, and who may run a job right now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger.models import JobRun, Lease
from ledger.repositories.base import Repository


class JobRunRepository(Repository):
    def start(self, job_id: str, scheduled_for: dt.datetime | None, runner: str, now: dt.datetime) -> JobRun:
        run = JobRun(job_id=job_id, scheduled_for=scheduled_for, runner=runner, started_at=now, outcome="running")
        self.session.add(run)
        self.session.flush()
        return run

    def finish(
        self, run_id: int, outcome: str, now: dt.datetime, counts: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> JobRun:
        run = self.session.get_one(JobRun, run_id)
        run.outcome, run.finished_at, run.counts, run.error = outcome, now, counts or {}, error
        return run

    def done_for(self, job_id: str, scheduled_for: dt.datetime) -> JobRun | None:
        """A run of this job for this fire time that already ran to an end, succeeded or failed, so another instance
        must not repeat it (a failed night is retried by the next fire time or by a person, not by a second one)."""
        return self.session.scalars(
            select(JobRun).where(
                JobRun.job_id == job_id,
                JobRun.scheduled_for == scheduled_for,
                JobRun.outcome.in_(("succeeded", "failed")),
            )
        ).first()

    def running(self) -> Sequence[JobRun]:
        """Runs not finished yet (live ones, and those whose process died before anyone noticed)."""
        return self.session.scalars(select(JobRun).where(JobRun.outcome == "running").order_by(JobRun.id)).all()

    def abandon(self, run_id: int, now: dt.datetime, why: str) -> JobRun | None:
        """Close a run whose process is gone: ``abandoned``, found at ``now``, ``why``; None if it ended meanwhile."""
        run = self.session.get_one(JobRun, run_id)
        if run.outcome != "running":
            return None
        run.outcome, run.finished_at, run.error = "abandoned", now, f"abandoned: {why}"
        return run

    def recent(self, limit: int = 50, job_id: str | None = None) -> Sequence[JobRun]:
        query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
        if job_id:
            query = query.where(JobRun.job_id == job_id)
        return self.session.scalars(query).all()


class LeaseRepository(Repository):
    def acquire(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
        """Take the named lease unless someone else holds an unexpired one. Call inside a write unit of work."""
        lease = self.session.get(Lease, name, with_for_update=True)
        if lease is None:
            try:  # in a savepoint: on PostgreSQL another instance may insert the same lease first
                with self.session.begin_nested():
                    self.session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
            except IntegrityError:
                return False
            return True
        if lease.holder != holder and lease.expires_at > now:
            return False
        lease.holder, lease.acquired_at, lease.expires_at = holder, now, now + ttl
        return True

    def release(self, name: str, holder: str) -> None:
        lease = self.session.get(Lease, name, with_for_update=True)
        if lease is not None and lease.holder == holder:
            self.session.delete(lease)

    def holder(self, name: str, now: dt.datetime) -> str | None:
        lease = self.session.get(Lease, name)
        return lease.holder if lease is not None and lease.expires_at > now else None
