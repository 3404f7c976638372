"""The scheduler's ``payments`` job exists when something can go out (a tenant in ``payments.erp`` with an ERP, or
reminders on) and runs both halves, one tenant's broken ERP config holding up no other."""

from __future__ import annotations

import datetime as dt

from config import Settings
from config.payments import Reminders
from services.clock import FixedClock
from services.operations import initialise
from services.operations.jobs import execute, job_specs
from services.runtime import engine_for
from services.uow import UnitOfWork


def test_the_job_is_there_when_something_can_go_out(settings: Settings) -> None:
    assert "payments" in {spec.id for spec in job_specs(settings)}  # the shipped config: nl-bv and de-gmbh
    without_erp = settings.model_copy(update={"tenants": [
        t.model_copy(update={"erp": t.erp.model_copy(update={"kind": "none"})}) for t in settings.tenants]})
    assert "payments" not in {spec.id for spec in job_specs(without_erp)}
    reminding = without_erp.model_copy(update={"payments": without_erp.payments.model_copy(
        update={"reminders": Reminders(enabled=True)})})
    assert "payments" in {spec.id for spec in job_specs(reminding)}


def test_a_run_records_what_each_half_did(settings: Settings) -> None:
    initialise(settings)
    clock = FixedClock(dt.datetime(2026, 12, 1, 9, 45, tzinfo=dt.UTC))
    assert execute(settings, "payments", clock) == "succeeded"
    with UnitOfWork(engine_for(settings)) as uow:
        [run] = uow.job_runs.recent(1, "payments")
    assert run.counts == {"erp_config_error": 2}  # no ERP credentials in the test environment: both refused
