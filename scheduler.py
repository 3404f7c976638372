"""APScheduler wiring for the unattended side: nightly sync, monthly draft batches, export retries.

APScheduler decides *when* (cron triggers from config, a SQLAlchemy job store in the ledger database so the schedule
survives restarts, ``max_instances=1``, coalescing and a misfire grace time); ``services.operations`` decides *whether
and what* (a database lease per job, so several instances on one database never run one job at once; one
``job_runs`` row per run). Jobs are stored by reference to ``RUN_JOB`` with the config path as argument, so a
restarted process picks them up unchanged (a job stored under an older reference is replaced). This module imports
only ``services`` and ``config``.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from config import Settings
from services.clock import SystemClock
from services.operations import close_abandoned_runs, job_specs, record_missed, trigger_for
from services.runtime import engine_for

log = logging.getLogger("cspbill.scheduler")

JOB_TABLE = "apscheduler_jobs"
RUN_JOB = "services.operations.jobs:run_job"  # what a stored job calls, by reference


class LedgerJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store on the ledger's own engine (``services.runtime.engine_for``).

    Why: an engine of its own on the ledger URL had none of the ledger engine's settings: on SQLite it gave up after
    5 s, not 60, behind a build's write transaction ("database is locked"), committed its own checkpoints, and kept
    a second pool of connections open. The engine is the process's, so stopping the scheduler leaves it open for the
    web desk and the jobs; ``services.runtime.dispose_engines`` closes it when the process ends."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(engine=engine_for(settings), tablename=JOB_TABLE)

    def shutdown(self) -> None:
        """Leave the shared engine open (the base class disposes of the engine it was given)."""


def build_scheduler(config_path: str, settings: Settings) -> BackgroundScheduler:
    """A scheduler, started paused, with every configured job registered; changed definitions replace stored ones,
    unchanged ones keep their stored next run time."""
    scheduler = BackgroundScheduler(
        jobstores={"default": LedgerJobStore(settings)},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.schedule.misfire_grace_seconds,
        },
        timezone=ZoneInfo(settings.schedule.timezone),
    )
    scheduler.start(paused=True)  # the job store is only readable once started
    existing = {job.id: job for job in scheduler.get_jobs()}
    specs = {spec.id: spec for spec in job_specs(settings)}
    for job_id in existing.keys() - specs.keys():
        scheduler.remove_job(job_id)
    for spec in specs.values():
        trigger = trigger_for(settings, spec)
        job = existing.get(spec.id)
        if (job is not None and job.func_ref == RUN_JOB and str(job.trigger) == str(trigger)
                and list(job.args) == [config_path, spec.id]):
            continue  # unchanged: keep its stored next run time, so runs missed while down are caught up
        scheduler.add_job(
            RUN_JOB,
            trigger,
            args=[config_path, spec.id],
            id=spec.id,
            name=spec.description,
            replace_existing=True,
        )

    def on_missed(event: JobExecutionEvent) -> None:
        log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
        record_missed(settings, event.job_id, event.scheduled_run_time, SystemClock())

    scheduler.add_listener(on_missed, EVENT_JOB_MISSED)
    return scheduler


def start(config_path: str, settings: Settings) -> BackgroundScheduler:
    """Close the runs a previous process left ``running`` when it died, then build and run the scheduler in
    background threads; ``scheduler.shutdown(wait=True)`` lets a running job end."""
    closed = close_abandoned_runs(settings)
    if any(closed.values()):
        log.warning("closed runs whose process died: %s", closed)
    scheduler = build_scheduler(config_path, settings)
    scheduler.resume()
    for job in scheduler.get_jobs():
        log.info("scheduled %s next at %s", job.id, job.next_run_time)
    return scheduler
