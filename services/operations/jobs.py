"""Scheduled jobs: what runs unattended, and the guarantees around each run.

The scheduler (``scheduler.py``, APScheduler) only decides *when*; this module decides *whether* and *what*:
- a job id names its kind and target: ``sync:<source>``, ``sync:fx`` (exchange rates), ``build:<tenant>``,
  ``export-retry``, ``duplicate-sweep`` (recently sent invoices looked up in their ERP), ``provision`` (desk
  mutations to the vendors, when a source opted in; a sync of such a source runs it right after the read),
  ``payments`` (applied payments to the ERP and reminders out, when ``payments.erp`` or reminders are configured);
- each run takes a database lease named after the job, so two scheduler instances on one database never run the
  same job at once, and skips a fire time another instance already completed;
- every run is a ``job_runs`` row (start, end, outcome, counts, error, runner), visible in ``cspbill jobs`` and the
  web desk; a run whose process died is closed as ``abandoned`` (and its lease freed) by the next start of the
  scheduler or of that job and by every listing of runs;
- the job calls one service function; failures are recorded, never raised into the scheduler thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, select

from config import Settings, load_config
from ledger.models import JobRun
from rating.months import month_of, previous_month
from services.abandoned import close_abandoned
from services.access import Actor, require, scheduler
from services.clock import Clock, SystemClock
from services.paging import Page, bounds, page_of
from services.runners import running
from services.runtime import engine_for
from services.sync import close_abandoned_sync_runs
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.jobs")

LEASE_TTL = dt.timedelta(hours=6)  # longer than any job; a crashed holder's lease expires by itself


@dataclass(frozen=True)
class JobSpec:
    id: str
    kind: str  # sync, fx_sync, vies_check, build, export_retry, duplicate_sweep, provision, delivery, notify, payments
    target: str | None  # source name, tenant code, or None
    cron: str
    description: str


@dataclass(frozen=True)
class JobRunView:
    id: int
    job_id: str
    scheduled_for: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    counts: dict[str, Any]
    error: str | None
    runner: str | None


class SourceRunFailed(Exception):
    """The nightly sync ran but a source failed; the job run is recorded as failed with the source's error."""


def job_specs(settings: Settings) -> list[JobSpec]:
    """The jobs the config asks for: a nightly sync per enabled source (and of the exchange rates when ``fx:`` is
    configured), a monthly build per tenant, export retries."""
    schedule = settings.schedule
    specs = [
        JobSpec(f"sync:{s.name}", "sync", s.name, schedule.nightly_sync, f"nightly sync of {s.name} ({s.kind})")
        for s in settings.sources
        if s.enabled
    ]
    if settings.fx is not None and settings.fx.enabled:
        specs.append(JobSpec("sync:fx", "fx_sync", None, schedule.nightly_sync,
                             f"nightly exchange rates ({settings.fx.source})"))
    if settings.vies.enabled:
        specs.append(JobSpec("sync:vies", "vies_check", None, schedule.nightly_sync,
                             f"re-check customers' VAT ids at VIES older than {settings.vies.recheck_days} days"))
    specs += [
        JobSpec(f"build:{t.code}", "build", t.code, schedule.monthly_build, f"draft batch of last month for {t.code}")
        for t in settings.tenants
    ]
    specs.append(JobSpec("export-retry", "export_retry", None, schedule.export_retry, "retry queued ERP exports"))
    if any(s.enabled and s.provisioning for s in settings.sources):
        specs.append(JobSpec("provision", "provision", None, schedule.provisioning,
                             "send queued desk mutations to the vendors (sources with provisioning: true)"))
    if any(t.erp.kind != "none" for t in settings.tenants):
        specs.append(JobSpec("duplicate-sweep", "duplicate_sweep", None, schedule.duplicate_sweep,
                             "look recently sent invoices up in their ERP for duplicates"))
    if any(t.delivery is not None and t.delivery.enabled for t in settings.tenants):
        specs.append(JobSpec("delivery", "delivery", None, schedule.delivery,
                             "deliver approved invoices by e-mail and Peppol, poll the access point"))
    if settings.notifications.enabled:
        specs.append(JobSpec("notify", "notify", None, schedule.notifications,
                             "send queued notification e-mails (batch ready, export failed, blocking findings)"))
    if settings.payments.reminders.enabled or any(settings.tenant(e.tenant).erp.kind != "none"
                                                  for e in settings.payments.erp):
        specs.append(JobSpec("payments", "payments", None, schedule.payments,
                             "send applied payments to the ERP and the reminders due"))
    return specs


def trigger_for(settings: Settings, spec: JobSpec) -> CronTrigger:
    return CronTrigger.from_crontab(spec.cron, timezone=ZoneInfo(settings.schedule.timezone))


def fire_time_for(settings: Settings, spec: JobSpec, now: dt.datetime) -> dt.datetime:
    """The fire time a run at ``now`` belongs to: the latest one at or before now (a coalesced catch-up is the
    latest missed one), searched back over the misfire grace period."""
    trigger = trigger_for(settings, spec)
    cursor = now - dt.timedelta(seconds=settings.schedule.misfire_grace_seconds + 1)
    fire = trigger.get_next_fire_time(None, cursor)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return (latest or now).astimezone(dt.UTC)


def _run_sync(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.operations.syncing import sync_and_refresh

    outcome = sync_and_refresh(settings, clock, source=target, who=scheduler(settings))
    report = outcome.report
    if report.failed:
        raise SourceRunFailed("; ".join(f"{run.source}: {run.error}" for run in report.failed))
    counts = report.counts()
    if any(s.name == target and s.provisioning for s in settings.sources):  # confirm (and send) right after the read
        counts["provisioning"] = _run_provision(settings, None, clock)
    if outcome.refreshed:  # the draft's stored review figures, again in step with tonight's snapshots
        counts["review_refreshed"] = outcome.refreshed
    return counts


def _run_provision(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.desk import provision

    return dict(provision(settings, scheduler(settings), clock).counts())


def _run_fx_sync(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.sync import sync_fx

    report = sync_fx(settings, clock, who=scheduler(settings))
    if report.status == "failed":
        raise SourceRunFailed(f"{report.source}: {report.error}")
    return {"status": report.status, **report.counts}


def _run_vies_check(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.sync import recheck_vat_ids

    return dict(vars(recheck_vat_ids(settings, clock, who=scheduler(settings))))


def _run_build(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.batches import build_batch

    assert target is not None
    month = month_of(previous_month(clock.now().astimezone(ZoneInfo(settings.tenant(target).timezone)).date()))
    report = build_batch(settings, target, month, scheduler(settings), clock)
    return {"month": month, "batch": report.batch_id, "status": report.status, "invoices": report.invoices,
            "lines": report.lines}


def _run_export_retry(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.export import retry_due_exports

    return dict(retry_due_exports(settings, clock))


def _run_duplicate_sweep(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.export import sweep_duplicates

    counts: dict[str, Any] = {}
    for summary in sweep_duplicates(settings, scheduler(settings), clock=clock):
        for name, value in summary.counts().items():
            counts[name] = counts.get(name, 0) + value
    return counts


def _run_delivery(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.delivery import deliver_due

    return dict(deliver_due(settings, clock))


def _run_notify(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.notifications.outbox import notify_due

    return notify_due(settings, clock)


def _run_payments(settings: Settings, target: str | None, clock: Clock) -> dict[str, Any]:
    from services.payments import export_due_payments, remind_due

    exported = {f"erp_{k}": v for k, v in export_due_payments(settings, clock).items()}
    return {**exported, **{f"reminders_{k}": v for k, v in remind_due(settings, clock).items()}}


ACTIONS: dict[str, Callable[[Settings, str | None, Clock], dict[str, Any]]] = {
    "sync": _run_sync,
    "fx_sync": _run_fx_sync,
    "vies_check": _run_vies_check,
    "build": _run_build,
    "export_retry": _run_export_retry,
    "duplicate_sweep": _run_duplicate_sweep,
    "provision": _run_provision,
    "delivery": _run_delivery,
    "notify": _run_notify,
    "payments": _run_payments,
}


def run_job(config_path: str, job_id: str) -> str:
    """Entry point the scheduler calls (by reference, so it survives in the job store). Returns the outcome."""
    settings = load_config(config_path)
    return execute(settings, job_id, SystemClock())


def execute(settings: Settings, job_id: str, clock: Clock, runner: str | None = None) -> str:
    """Run one job now under its lease; record the run; never raise (the scheduler thread must live on). ``runner``
    names the executor (default: this process, ``host:pid:token``)."""
    if runner is not None:
        return _execute(settings, job_id, clock, runner)
    with running() as this_run:
        return _execute(settings, job_id, clock, this_run)


def _execute(settings: Settings, job_id: str, clock: Clock, runner: str) -> str:
    spec = next((s for s in job_specs(settings) if s.id == job_id), None)
    if spec is None:
        log.error("job %s is no longer in config; nothing run", job_id)
        return "skipped"
    engine = engine_for(settings)
    close_abandoned_job_runs(engine)  # a dead predecessor's lease must not hold this run off for LEASE_TTL
    now = clock.now()
    scheduled_for = fire_time_for(settings, spec, now)
    lease = f"job:{job_id}"
    with UnitOfWork(engine, write=True) as uow:
        # The lease before the finished runs: on PostgreSQL (row locks, not serialised transactions) another
        # instance may finish the run and release the lease between two reads; read in the other order, its
        # unfinished run and then its free lease made a second run of one fire time. A lease taken after that
        # release sees the finished run (both were committed together).
        if not uow.leases.acquire(lease, runner, now, LEASE_TTL):
            outcome, reason = "skipped", f"lease held by {uow.leases.holder(lease, now)}"
        elif uow.job_runs.done_for(job_id, scheduled_for) is not None:
            uow.leases.release(lease, runner)
            outcome, reason = "skipped", f"fire time {scheduled_for.isoformat()} already completed"
        else:
            outcome, reason = "running", None
        run_id = uow.job_runs.start(job_id, scheduled_for, runner, now).id
        if outcome == "skipped":
            uow.job_runs.finish(run_id, "skipped", now, error=reason)
    if outcome == "skipped":
        log.info("job %s skipped: %s", job_id, reason)
        return outcome
    counts: dict[str, Any] = {}
    error = None
    try:
        counts = ACTIONS[spec.kind](settings, spec.target, clock)
        outcome = "succeeded"
    except Exception as exc:  # recorded with its type; the traceback goes to the log
        log.exception("job %s failed", job_id)
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
    with UnitOfWork(engine, write=True) as uow:
        uow.job_runs.finish(run_id, outcome, clock.now(), counts=counts, error=error)
        uow.leases.release(lease, runner)
    log.info("job %s %s (%s)", job_id, outcome, counts)
    return outcome


def record_missed(settings: Settings, job_id: str, scheduled_for: dt.datetime, clock: Clock) -> None:
    """A fire time passed beyond the misfire grace while the scheduler was down: record it, do not run it."""
    with running() as runner, UnitOfWork(engine_for(settings), write=True) as uow:
        run = uow.job_runs.start(job_id, scheduled_for.astimezone(dt.UTC), runner, clock.now())
        uow.job_runs.finish(run.id, "missed", clock.now(), error="scheduler was down past the misfire grace time")


def close_abandoned_job_runs(engine: Engine, now: dt.datetime | None = None) -> list[int]:
    """Close the ``running`` job runs whose process is gone (``abandoned``, when and why) and free the lease each
    still holds; returns their ids. Another host's run is gone when its lease (``LEASE_TTL``) has expired."""
    return close_abandoned(engine, "job_runs", "job_run", LEASE_TTL, now,
                           on_abandon=lambda uow, run: uow.leases.release(f"job:{run.job_id}", run.runner))


def close_abandoned_runs(settings: Settings) -> dict[str, list[int]]:
    """What the scheduler does on start: close every sync run and job run whose process died."""
    engine = engine_for(settings)
    return {"sync_runs": close_abandoned_sync_runs(engine), "job_runs": close_abandoned_job_runs(engine)}


def recent_runs(settings: Settings, limit: int = 50, job_id: str | None = None) -> Sequence[JobRunView]:
    close_abandoned_job_runs(engine_for(settings))
    return _recent_runs(settings, limit, job_id)


def _recent_runs(settings: Settings, limit: int, job_id: str | None) -> Sequence[JobRunView]:
    with UnitOfWork(engine_for(settings)) as uow:
        return [
            JobRunView(r.id, r.job_id, r.scheduled_for, r.started_at, r.finished_at, r.outcome, dict(r.counts),
                       r.error, r.runner)
            for r in uow.job_runs.recent(limit, job_id)
        ]


def next_fire_times(settings: Settings, clock: Clock | None = None) -> dict[str, dt.datetime]:
    """When each configured job fires next (from the cron expressions alone, whether or not a scheduler runs)."""
    now = (clock or SystemClock()).now()
    return {spec.id: trigger_for(settings, spec).get_next_fire_time(None, now) for spec in job_specs(settings)}


def _hidden_jobs(settings: Settings, who: Actor) -> list[str]:
    """Job ids that name another legal entity's source or build (``sync:<source>``, ``build:<tenant>``)."""
    hidden = [f"sync:{s.name}" for s in settings.sources if not who.can_see(s.tenant)]
    return hidden + [f"build:{t.code}" for t in settings.tenants if not who.can_see(t.code)]


def job_runs(settings: Settings, who: Actor, offset: int = 0, limit: int = 25) -> Page:
    """Scheduled job runs, newest first, for finance and admins; runs of other entities' jobs are left out."""
    offset, limit = bounds(offset, limit)
    require(who, "finance")
    close_abandoned_job_runs(engine_for(settings))
    with UnitOfWork(engine_for(settings)) as uow:
        stmt = select(JobRun).where(JobRun.job_id.not_in(_hidden_jobs(settings, who)))
        stmt = stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc()).offset(offset).limit(limit + 1)
        return page_of(uow.session.scalars(stmt).all(), offset, limit, lambda j: JobRunView(
            j.id, j.job_id, j.scheduled_for, j.started_at, j.finished_at, j.outcome, dict(j.counts or {}), j.error,
            j.runner))


@dataclass(frozen=True)
class ScheduledJob:
    spec: JobSpec
    next_fire: dt.datetime | None
    last: JobRunView | None


def scheduled_jobs(settings: Settings, who: Actor, clock: Clock) -> list[ScheduledJob]:
    """The configured jobs the actor may see, when each fires next and how its last run ended."""
    require(who, "finance")
    hidden = set(_hidden_jobs(settings, who))
    fires = next_fire_times(settings, clock)
    close_abandoned_job_runs(engine_for(settings))
    return [
        ScheduledJob(spec, fires.get(spec.id), next(iter(_recent_runs(settings, 1, spec.id)), None))
        for spec in job_specs(settings)
        if spec.id not in hidden
    ]
