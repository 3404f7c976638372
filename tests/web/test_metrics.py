"""`GET /metrics`: Prometheus text from the ledger (sync age per source, export, delivery and provisioning outbox
depth, failures, job durations), read with the official client library's parser, and closed behind a bearer token
when config names one."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from config import Settings
from desk.web.app import create_app
from ledger.models import Delivery, Export, Invoice, JobRun, Mutation, Provisioning, Subscription, SyncRun
from services.clock import FixedClock
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.web.seed import NOW, Seeded


def _samples(text: str) -> dict[str, dict[tuple, float]]:
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _fill_outboxes(settings: Settings) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        invoices = uow.session.scalars(select(Invoice).limit(2)).all()
        for n, invoice in enumerate(invoices):
            uow.session.add(Export(invoice_id=invoice.id, tenant_id=invoice.tenant_id, target="erp-test",
                                   external_ref=f"CSP-M-{n}", status=("queued", "failed")[n]))
            uow.session.add(Delivery(invoice_id=invoice.id, tenant_id=invoice.tenant_id, channel="email",
                                     recipient="ap@example.com", message_ref=f"<m{n}@test>",
                                     status=("sent", "bounced")[n]))
        subscription = uow.session.scalars(select(Subscription).where(Subscription.tenant_id == invoices[0].tenant_id)
                                           .limit(1)).one()
        mutation = Mutation(tenant_id=subscription.tenant_id, customer_id=subscription.customer_id,
                            subscription_id=subscription.id, kind="increase", effective_date=dt.date(2026, 10, 20),
                            new_quantity=13, ticket_ref="T-9", created_by="dana")
        uow.session.add(mutation)
        uow.session.flush()
        uow.session.add(Provisioning(tenant_id=subscription.tenant_id, mutation_id=mutation.id,
                                     subscription_id=subscription.id, source=subscription.source, action="quantity",
                                     request_id="req-9", target_quantity=13, status="queued"))


def test_metrics_read_the_ledger(settings: Settings, seeded: Seeded) -> None:
    _fill_outboxes(settings)
    response = TestClient(create_app(settings, FixedClock(NOW))).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    with UnitOfWork(engine_for(settings)) as uow:
        finished = uow.session.scalar(select(func.max(SyncRun.finished_at))
                                      .where(SyncRun.source == "partner-center", SyncRun.status == "succeeded"))
        job = uow.session.scalars(select(JobRun).where(JobRun.finished_at.is_not(None))).first()
    ages = samples["cspbill_last_good_sync_age_seconds"]
    assert ages == {(("source", "partner-center"),): (NOW - finished).total_seconds()}  # pax8 only ever failed
    outbox = samples["cspbill_export_outbox"]
    assert outbox[(("status", "queued"), ("target", "erp-test"), ("tenant", "nl-bv"))] == 1
    assert outbox[(("status", "failed"), ("target", "erp-test"), ("tenant", "nl-bv"))] == 1
    deliveries = samples["cspbill_delivery_outbox"]
    assert deliveries == {(("channel", "email"), ("status", "bounced"), ("tenant", "nl-bv")): 1,
                          (("channel", "email"), ("status", "sent"), ("tenant", "nl-bv")): 1}
    [(labels, count)] = samples["cspbill_provisioning_outbox"].items()
    assert (dict(labels)["status"], dict(labels)["tenant"], count) == ("queued", "nl-bv", 1)
    assert samples["cspbill_sync_runs_failed"] == {(("source", "pax8"), ("status", "failed")): 1}
    durations = samples["cspbill_job_last_duration_seconds"]
    assert durations[(("job", job.job_id), ("outcome", job.outcome))] == (
        job.finished_at - job.started_at).total_seconds()
    assert "Contoso" not in response.text and "EUR" not in response.text


@pytest.mark.parametrize("header, status", [(None, 401), ("Bearer wrong", 401), ("Bearer s3cret-scrape", 200)])
def test_metrics_behind_a_token(settings: Settings, seeded: Seeded, monkeypatch: pytest.MonkeyPatch,
                                header: str | None, status: int) -> None:
    monkeypatch.setenv("CSPBILL_METRICS_TOKEN", "s3cret-scrape")
    guarded = settings.model_copy(update={"web": settings.web.model_copy(
        update={"metrics_token_env": "CSPBILL_METRICS_TOKEN"})})
    client = TestClient(create_app(guarded, FixedClock(NOW)))
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    if status == 200:
        assert "cspbill_export_outbox" in response.text
