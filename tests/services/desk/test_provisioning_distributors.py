"""Provisioning at Pax8 (quantity PUT) and Ingram (change order) through the outbox, against their sandboxes.

Neither distributor documents an idempotency key, so what keeps a mutation from being applied twice is the look-up
before every write: Pax8's seat count, Ingram's change order found by its ``poNumber`` (our request id). Each test
sends a mutation, then puts its row back in the queue as a crashed run would leave it, and runs again: the vendor
already shows the change, so nothing is sent a second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from ledger.models import Subscription
from sandbox import ingram, pax8
from sandbox.core import Clock, SandboxServer
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, provision, show_mutation
from services.desk.provisioning import request_id_for
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import actor, nightly

NOW = dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["pax8", "ingram"])
def vendor(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, SandboxServer]]:
    module = pax8 if request.param == "pax8" else ingram
    with SandboxServer(module.build(Clock(NOW), seed=4), prefix=module.PREFIX) as server:
        data = demo_config_data()
        data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
        data["fx"] = None
        source = next(dict(s) for s in data["sources"] if s["name"] == request.param)
        source.pop("ca_bundle")
        source.update(base_url=f"{server.url}{module.PREFIX}", token_url=f"{server.url}{module.PREFIX}/token",
                      provisioning=True)
        data["sources"] = [source]
        secrets = ({source["client_id_env"]: pax8.CREDENTIALS["client_id"],
                    source["client_secret_env"]: pax8.CREDENTIALS["client_secret"]} if module is pax8 else
                   {source["client_id_env"]: ingram.CREDENTIALS["username"],
                    source["client_secret_env"]: ingram.CREDENTIALS["password"],
                    source["api_key_env"]: ingram.CREDENTIALS["subscription_key"]})
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        settings = parse_settings(data, tmp_path / "config.yaml")
        initialise(settings)
        assert not sync(settings, FixedClock(NOW), who=nightly(settings), source=request.param).failed
        yield settings, server


def writes(server: SandboxServer) -> list:
    return [r for r in server.app.received if r.method in ("PUT", "POST") and "/token" not in r.path]


def test_sent_once_and_a_retry_finds_it_at_the_vendor(vendor) -> None:
    settings, server = vendor
    with UnitOfWork(engine_for(settings)) as uow:
        subscription = uow.session.scalars(select(Subscription).where(
            Subscription.status == "active", Subscription.billing_type == "license").order_by(Subscription.id)).first()
    dana = actor(settings, "dana")
    saved = add_mutation(settings, dana, MutationRequest(subscription.id, NOW.date(), "T-300", delta=Decimal(2)),
                         FixedClock(NOW))
    assert [status for _, status, _ in provision(settings, dana, FixedClock(NOW)).outcomes] == ["applied"]
    sent = writes(server)
    assert len(sent) == 1
    if sent[0].method == "POST":  # Ingram: our request id travels as the change order's poNumber
        assert b'"poNumber": "' + request_id_for(saved.id).encode() + b'"' in sent[0].body
    with UnitOfWork(engine_for(settings), write=True) as uow:  # as a run killed after the vendor's answer leaves it
        row = uow.provisionings.for_mutation(saved.id)
        row.status, row.applied_at = "queued", None
    again = provision(settings, dana, FixedClock(NOW)).outcomes
    assert [(status, "found already applied" in detail) for _, status, detail in again] == [("applied", True)]
    assert len(writes(server)) == 1
    assert show_mutation(settings, dana, saved.id).vendor_status == "applied"
