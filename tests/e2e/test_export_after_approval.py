"""A month end handed to the ERP: the batch service builds and approves a month (real rating, line keys, numbers),
the outbox exports it to the BC SOAP sandbox once, and the invoices and the batch end up ``exported``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import Batch, Customer, Invoice
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.export import export_invoices, export_status
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.export.test_export_outbox import (  # noqa: F401 - soap and soap_env are fixtures used here
    FAST,
    NOW,
    Soap,
    assert_exactly_once,
    soap,
    soap_env,
    soap_settings,
)


@pytest.fixture
def nl(settings: Settings, soap: Soap, soap_env: None, tmp_path: Path) -> Settings:  # noqa: F811 - fixtures
    configured = soap_settings(settings, soap, tmp_path)
    initialise(configured)
    return configured


@pytest.mark.slow
def test_an_approved_month_is_exported_once(nl: Settings, soap: Soap) -> None:  # noqa: F811 - fixture
    for n in range(3):
        customer = add_customer(nl, "nl-bv", f"Customer {n}")
        sub = add_subscription(nl, "nl-bv", customer, f"sub-{n}", "2026-03-10")
        snapshot(nl, sub, "2026-03-10", 10 + n)
    with UnitOfWork(engine_for(nl), write=True) as uow:  # the ERP's customer numbers (the sandbox knows C00001..)
        for n, customer in enumerate(uow.session.scalars(select(Customer).order_by(Customer.id)), start=1):
            customer.reference = f"C{n:05d}"
    build_batch(nl, "nl-bv", "2026-04", actor(nl, "finn"), clock=FixedClock(NOW))
    approve_batch(nl, "nl-bv", "2026-04", actor(nl, "anna"), clock=FixedClock(NOW))

    [summary] = export_invoices(nl, actor(nl, "finn"), "nl-bv", clock=FixedClock(NOW), policy=FAST)
    assert [o.action for o in summary.outcomes] == ["created"] * 3
    with UnitOfWork(engine_for(nl)) as uow:
        numbers = [i.number for i in uow.session.scalars(select(Invoice).order_by(Invoice.number))]
        assert uow.session.scalar(select(Batch.status)) == "exported"
    assert_exactly_once(soap, nl, numbers)
    rows = export_status(nl, actor(nl, "anna"), "nl-bv", "2026-04")
    assert {(r.status, r.invoice_status) for r in rows} == {("sent", "exported")}
    assert export_invoices(nl, actor(nl, "finn"), "nl-bv", policy=FAST)[0].outcomes == []
