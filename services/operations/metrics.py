"""Prometheus metrics of the running product, read from the ledger at each scrape.

Why from the ledger and not from counters in the process: the nightly sync, exports and builds run in the scheduler,
in CLI processes and in the desk, on one database; only the ledger knows them all. A scrape therefore asks a few
aggregate queries (age of the last good sync per source, outbox depth per status, failures, the last duration of
each job) and exposes them through the official client library's collector interface. No money and no customer
names leave through this endpoint, only counts and ages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings
from ledger.models import Delivery, Export, JobRun, Provisioning, SyncRun, Tenant
from services.clock import Clock, SystemClock
from services.runtime import engine_for
from services.uow import UnitOfWork

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GOOD_SYNC = ("succeeded",)


class LedgerCollector(Collector):
    """Collects the gauges below from one ledger each time Prometheus scrapes."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock.now()
        with UnitOfWork(self._engine) as uow:
            session = uow.session
            assert session is not None
            yield _sync_age(session, now)
            yield from _queues(session)
            yield _sync_failures(session)
            yield from _jobs(session)


def _sync_age(session: Session, now: dt.datetime) -> GaugeMetricFamily:
    family = GaugeMetricFamily("cspbill_last_good_sync_age_seconds",
                               "Seconds since the last sync of each source that succeeded", labels=["source"])
    rows = session.execute(select(SyncRun.source, func.max(SyncRun.finished_at))
                           .where(SyncRun.status.in_(GOOD_SYNC)).group_by(SyncRun.source))
    for source, finished in rows:
        if finished is not None:
            family.add_metric([source], (now - finished).total_seconds())
    return family


def _sync_failures(session: Session) -> GaugeMetricFamily:
    failures = GaugeMetricFamily("cspbill_sync_runs_failed", "Sync runs per source that failed or were abandoned",
                                 labels=["source", "status"])
    rows = session.execute(select(SyncRun.source, SyncRun.status, func.count())
                           .where(SyncRun.status.in_(("failed", "partial", "abandoned")))
                           .group_by(SyncRun.source, SyncRun.status))
    for source, status, count in rows:
        failures.add_metric([source, status], count)
    return failures


def _queues(session: Session) -> Iterator[GaugeMetricFamily]:
    """Each outbox's depth by legal entity and status: ERP exports per target, invoice deliveries per channel,
    provisionings per vendor source."""
    for name, help_text, row, kind, label in (
            ("cspbill_export_outbox", "ERP export outbox rows by legal entity, target and status",
             Export, Export.target, "target"),
            ("cspbill_delivery_outbox", "Invoice delivery outbox rows by legal entity, channel and status",
             Delivery, Delivery.channel, "channel"),
            ("cspbill_provisioning_outbox", "Provisioning outbox rows by legal entity, vendor source and status",
             Provisioning, Provisioning.source, "source")):
        depth = GaugeMetricFamily(name, help_text, labels=["tenant", label, "status"])
        rows = session.execute(select(Tenant.code, kind, row.status, func.count())
                               .join(Tenant, Tenant.id == row.tenant_id).group_by(Tenant.code, kind, row.status))
        for tenant, value, status, count in rows:
            depth.add_metric([tenant, value, status], count)
        yield depth


def _jobs(session: Session) -> Iterator[GaugeMetricFamily]:
    duration = GaugeMetricFamily("cspbill_job_last_duration_seconds", "Duration of each job's last finished run",
                                 labels=["job", "outcome"])
    runs = GaugeMetricFamily("cspbill_job_runs", "Job runs by job and outcome", labels=["job", "outcome"])
    latest = (select(JobRun.job_id, func.max(JobRun.id).label("id"))
              .where(JobRun.finished_at.is_not(None)).group_by(JobRun.job_id).subquery())
    for job, outcome, started, finished in session.execute(
            select(JobRun.job_id, JobRun.outcome, JobRun.started_at, JobRun.finished_at)
            .join(latest, latest.c.id == JobRun.id)):
        duration.add_metric([job, outcome], (finished - started).total_seconds())
    for job, outcome, count in session.execute(
            select(JobRun.job_id, JobRun.outcome, func.count()).group_by(JobRun.job_id, JobRun.outcome)):
        runs.add_metric([job, outcome], count)
    yield duration
    yield runs


def render_metrics(settings: Settings, clock: Clock | None = None) -> bytes:
    """The Prometheus text exposition of the ledger's metrics (a fresh registry per scrape, no process state)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(engine_for(settings), clock or SystemClock()))
    return generate_latest(registry)
