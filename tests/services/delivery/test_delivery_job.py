"""The scheduler's delivery job: registered when a legal entity has ``delivery:``, it queues and sends what became
deliverable as the scheduler's own actor, and records its counts in the job run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from config import Settings
from ledger.models import JobRun
from services.clock import FixedClock
from services.operations import execute, job_specs
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.services.delivery.support import Sandboxes, set_channel, with_delivery
from tests.services.export.test_export_outbox import seed_invoices

NOW = dt.datetime(2026, 6, 3, 10, 0, tzinfo=dt.UTC)


def test_delivery_job_only_with_delivery_configured_and_it_sends(settings: Settings, sandboxes: Sandboxes) -> None:
    assert "delivery" not in {spec.id for spec in job_specs(settings)}
    nl = with_delivery(settings, sandboxes)
    assert "delivery" in {spec.id for spec in job_specs(nl)}
    [number] = seed_invoices(nl, count=1)
    set_channel(nl, number, "peppol", peppol=("0106", "12345678"))
    assert execute(nl, "delivery", FixedClock(NOW)) == "succeeded"
    assert len(sandboxes.transmitted()) == 1
    with UnitOfWork(engine_for(nl)) as uow:
        run = uow.session.scalar(select(JobRun).where(JobRun.job_id == "delivery"))
    assert run.counts == {"queued": 1, "sent": 1}
