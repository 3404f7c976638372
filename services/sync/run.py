"""The nightly sync: read every configured source completely and map what it says into the ledger.

Rules this module keeps (DESIGN §1, §3; distributors.md §6; billing-rules.md §9):
- **One run per source**, a ``sync_run`` row committed first (status ``running``, with its runner ``host:pid:token``
  so that a run whose process died is closed as ``abandoned`` by the next sync), together with the source's lease
  (``sync:<source>``): while a run of the source is going on, another (the scheduler's and a person's ``cspbill
  sync``, another instance) is ``skipped`` and reads nothing, so two runs never store one night side by side (on
  PostgreSQL both could find a new subscription missing, and one fail on its key, or store a change twice); the lease
  goes with the run's end, or with its abandonment. Everything the source said is
  then stored in *one* unit of work that also finishes the run. A source that fails (unavailable, refused login,
  missing secret, a crash half-way through its pages or while storing) leaves no data, only its run marked
  ``failed`` with the error; the other sources still run. "Missing" is never "cancelled": an incomplete pull stores
  nothing, and a subscription absent from a *complete* pull becomes a ``missing_at_vendor`` discrepancy, not a
  cancellation.
- **Malformed records** are listed in the run's errors (status ``partial``); the valid records around them are
  stored.

What a pull becomes in the ledger (snapshots, customers, usage, cost lines) is ``services.sync.ingest``'s job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config import Settings
from config.schema import MissingSecret, SourceConfig
from connectors.errors import SourceError
from ledger import checkpoints
from ledger.models import SyncRun
from services.access import Actor, require
from services.clock import Clock, SystemClock
from services.errors import Misconfigured, NotConfigured, NotFound, UserFacingError
from services.identity import confirm
from services.progress import Counted, count
from services.runners import running
from services.runtime import engine_for
from services.sync.ingest import IngestContext, store_pull
from services.sync.runs import SYNC_RUN_TTL, close_abandoned_sync_runs, sync_lease
from services.sync.sources import OpenSource, open_source
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.services.sync")

Progress = Callable[[str, str], None]  # (source name, phase: reading | storing | done | failed | skipped)

@dataclass(frozen=True)
class SourceRunReport:
    """What one source's run did: the summary the CLI prints and the web desk lists."""

    source: str
    tenant: str
    run_id: int | None  # None: skipped, no run was started
    status: str  # succeeded, partial (malformed records reported), failed (nothing stored), skipped (see above)
    counts: dict[str, int]
    errors: tuple[str, ...]
    error: str | None
    misconfigured: bool = False  # failed because of config.yaml or a missing secret, not the vendor


@dataclass(frozen=True)
class SyncReport:
    as_of: dt.datetime
    runs: tuple[SourceRunReport, ...]

    @property
    def failed(self) -> tuple[SourceRunReport, ...]:
        return tuple(run for run in self.runs if run.status == "failed")

    def counts(self) -> dict[str, Any]:
        """Per source: status, counts and error (what the scheduler stores on its job run)."""
        return {run.source: {"status": run.status, **run.counts, **({"error": run.error} if run.error else {})}
                for run in self.runs}


def sync(
    settings: Settings,
    clock: Clock,
    *,
    source: str | None = None,
    tenant: str | None = None,
    who: Actor,
    open_reader: OpenSource = open_source,
    progress: Progress | None = None,
    counted: Counted | None = None,
) -> SyncReport:
    """Read the configured sources (all enabled ones, or one by name / one legal entity's) as of ``clock.now()``;
    ``progress`` is told each source's phase, ``counted`` how many sources are done."""
    require(who, "sync", tenant)
    configs = _selected(settings, who, source, tenant)
    engine = engine_for(settings)
    as_of = clock.now()
    report = progress or (lambda _source, _phase: None)
    with UnitOfWork(engine) as uow:
        confirm(uow, who)
    close_abandoned_sync_runs(engine)
    runs = []
    count(counted, "sources", 0, len(configs))
    with running() as runner:
        for config in configs:
            runs.append(_run_source(engine, settings, who, config, as_of, open_reader, report, runner))
            count(counted, "sources", len(runs), len(configs))
    checkpoints.wait(engine)  # each source's checkpoint overlapped the next source; the run ends with none pending
    return SyncReport(as_of, tuple(runs))


def _selected(settings: Settings, who: Actor, source: str | None, tenant: str | None) -> list[SourceConfig]:
    if source is not None and all(config.name != source for config in settings.sources):
        raise NotConfigured(f"source {source!r}: not in config.yaml sources")
    if tenant is not None and all(t.code != tenant for t in settings.tenants):
        raise NotConfigured(f"tenant {tenant!r}: not in config.yaml tenants")
    return [
        config
        for config in settings.sources
        if config.enabled
        and (source is None or config.name == source)
        and (tenant is None or config.tenant == tenant)
        and who.can_see(config.tenant)
    ]


def _run_source(engine: Engine, settings: Settings, who: Actor, config: SourceConfig, as_of: dt.datetime,
                open_reader: OpenSource, progress: Progress, runner: str) -> SourceRunReport:
    lease = sync_lease(config.name)
    with UnitOfWork(engine, write=True) as uow:
        tenant_row = uow.tenants.by_code(config.tenant)
        if tenant_row is None:
            raise NotFound(f"tenant {config.tenant!r}: not in the ledger; run `cspbill init` first")
        now = SystemClock().now()  # the lease is about live processes, not the night being read
        if not uow.leases.acquire(lease, runner, now, SYNC_RUN_TTL):
            holder = uow.leases.holder(lease, now) or "another run"
            log.warning("sync source=%s tenant=%s skipped: %s is running it", config.name, config.tenant, holder)
            progress(config.name, "skipped")
            return SourceRunReport(config.name, config.tenant, None, "skipped", {}, (),
                                   f"another sync of {config.name} is running ({holder}); this one read nothing")
        run_id = uow.sync_runs.start(config.name, as_of, tenant_row.id, runner).id
        tenant_id = tenant_row.id
    context = IngestContext(config.name, tenant_id, ZoneInfo(settings.tenant(config.tenant).timezone), as_of, run_id,
                            settings.usage.root(settings.base_dir))
    try:
        progress(config.name, "reading")
        pulled = open_reader(settings, config).read(as_of)
        progress(config.name, "storing")
        with UnitOfWork(engine, write=True) as uow:
            counts, errors = store_pull(uow, context, pulled)
            status = "partial" if errors else "succeeded"
            uow.sync_runs.finish(uow.session.get(SyncRun, run_id), status, counts, errors)
            uow.leases.release(lease, runner)
            uow.audit.record(who.username, "sync", "sync_run", run_id, tenant_id, after={"status": status, **counts},
                             at=as_of)
    except Exception as exc:  # any failure of one source fails its run only; the other sources go on
        message = f"{type(exc).__name__}: {exc}"
        log.warning("sync source=%s tenant=%s run=%s failed: %s", config.name, config.tenant, run_id, message,
                    exc_info=not _expected(exc))
        with UnitOfWork(engine, write=True) as uow:
            uow.sync_runs.finish(uow.session.get(SyncRun, run_id), "failed", {}, [], error=message)
            uow.leases.release(lease, runner)
        progress(config.name, "failed")
        return SourceRunReport(config.name, config.tenant, run_id, "failed", {}, (), message,
                               misconfigured=isinstance(exc, (MissingSecret, Misconfigured)))
    log.info("sync source=%s tenant=%s run=%s %s %s", config.name, config.tenant, run_id, status, counts)
    progress(config.name, "done")
    return SourceRunReport(config.name, config.tenant, run_id, status, counts,
                           tuple(e["message"] for e in errors), None)


def _expected(exc: Exception) -> bool:
    """Failures people can act on (vendor down, credentials, config) are logged without a traceback."""
    return isinstance(exc, (SourceError, UserFacingError, MissingSecret))
