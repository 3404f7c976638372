"""Closing runs whose process died: a ``running`` sync run or job run whose runner is gone becomes ``abandoned``.

Why here, once: a process killed mid-way cannot close its own run, so whoever comes next (a sync starting, the
scheduler starting or running a job, any command or page that lists runs) closes it, with when (``finished_at``) and
why (``error``), and leaves an audit event. Whether a runner is gone is ``services.runners``' question; a run whose
runner is alive is never touched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from config.auth import SCHEDULER
from services.clock import SystemClock
from services.runners import gone_because
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.runs")

OnAbandon = Callable[[UnitOfWork, Any], None]  # extra clean-up inside the closing transaction (e.g. a lease)


def close_abandoned(engine: Engine, repository: str, entity: str, ttl: dt.timedelta,
                    now: dt.datetime | None = None, on_abandon: OnAbandon | None = None) -> list[int]:
    """Mark the ``running`` rows of ``repository`` (``sync_runs`` or ``job_runs``) whose runner is gone as abandoned;
    returns their ids. ``now`` is the wall clock by default: liveness is about real processes, not a replayed night.
    Reads first and takes the write lock only when there is something to close."""
    now = now or SystemClock().now()
    with UnitOfWork(engine) as uow:
        gone = {run.id: why for run in getattr(uow, repository).running()
                if (why := gone_because(run.runner, run.started_at, now, ttl)) is not None}
    if not gone:
        return []
    closed = []
    with UnitOfWork(engine, write=True) as uow:
        runs = getattr(uow, repository)
        for run_id, why in gone.items():
            run = runs.abandon(run_id, now, why)
            if run is None:
                continue
            if on_abandon is not None:
                on_abandon(uow, run)
            uow.audit.record(SCHEDULER, f"{entity}.abandoned", entity, run_id, getattr(run, "tenant_id", None),
                             after={"runner": run.runner, "started_at": run.started_at.isoformat()}, detail=why)
            closed.append(run_id)
    for run_id in closed:
        log.warning("%s %s abandoned: %s", entity, run_id, gone[run_id])
    return closed
