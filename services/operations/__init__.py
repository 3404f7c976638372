"""Running the product: setting the ledger up from config, the scheduled jobs and their runs, health for
monitoring, and the audit trail."""

from services.operations.audit import ChainVerdict, audit_page, list_events, verify_chains
from services.operations.health import Health, health
from services.operations.jobs import (
    JobRunView,
    JobSpec,
    ScheduledJob,
    close_abandoned_runs,
    execute,
    job_runs,
    job_specs,
    next_fire_times,
    recent_runs,
    record_missed,
    scheduled_jobs,
    trigger_for,
)
from services.operations.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from services.operations.metrics import render_metrics
from services.operations.setup import InitReport, initialise

__all__ = [
    "METRICS_CONTENT_TYPE",
    "ChainVerdict",
    "Health",
    "InitReport",
    "JobRunView",
    "JobSpec",
    "ScheduledJob",
    "audit_page",
    "close_abandoned_runs",
    "execute",
    "health",
    "initialise",
    "job_runs",
    "job_specs",
    "list_events",
    "next_fire_times",
    "recent_runs",
    "record_missed",
    "render_metrics",
    "scheduled_jobs",
    "trigger_for",
    "verify_chains",
]
