"""Customer addresses from vendor data: the sync fills the fields the desk left empty, never overwrites one, and
audits each filled field with the source and the vendor's customer id."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from config import Settings
from connectors.records import PullResult
from ledger.models import AuditEvent
from services.clock import FixedClock
from services.desk import customer_detail, update_master_data
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.services.sync.test_sync_support import Vendor, customer, licence, night

ADDRESS = {"street": "Marktstraat 3", "city": "Utrecht", "postal_code": "1000", "country": "NL"}


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def pull(settings: Settings, day: int, **address: str) -> None:
    vendor = Vendor()
    vendor.answers["pax8"] = PullResult(customers=(customer("c1", reference="ERP-1", **address),),
                                        licences=(licence("s1", 5, customer_reference="ERP-1"),))
    sync(settings, FixedClock(night(day)), who=nightly(settings), source="pax8", open_reader=vendor.open)


def ledger_customer(settings: Settings) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        [row] = uow.customers.reference_map(uow.tenants.by_code("de-gmbh").id).values() or [None]
        return row


def test_a_new_customer_gets_the_vendor_address_and_the_audit_names_the_source(ledger: Settings) -> None:
    pull(ledger, 1, **ADDRESS)
    view = customer_detail(ledger, actor(ledger, "dana"), ledger_customer(ledger))
    assert (view.street, view.city, view.postal_code, view.country) == ("Marktstraat 3", "Utrecht", "1000", "NL")
    with UnitOfWork(engine_for(ledger)) as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.master_data.sync"))
        assert (event.actor, event.detail) == ("sync:pax8", "from pax8 customer c1")
        assert event.after == {"street": "Marktstraat 3", "city": "Utrecht", "postal_code": "1000"}


def test_what_the_desk_entered_is_never_overwritten_and_empty_fields_are_filled(ledger: Settings) -> None:
    pull(ledger, 1)
    customer_id = ledger_customer(ledger)
    update_master_data(ledger, actor(ledger, "dana"), customer_id, {"street": "Rechnungsweg 1", "city": "Köln"},
                       FixedClock(dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)))
    pull(ledger, 2, **ADDRESS)
    pull(ledger, 3, street="Elsewhere 9", city="Lyon", postal_code="69001")
    view = customer_detail(ledger, actor(ledger, "dana"), customer_id)
    assert (view.street, view.city, view.postal_code) == ("Rechnungsweg 1", "Köln", "1000")
    with UnitOfWork(engine_for(ledger)) as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.master_data.sync")).all()
        assert [event.after for event in events] == [{"postal_code": "1000", "country": "NL"}]
