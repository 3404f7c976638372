"""Four-eyes approval and rejection of a draft batch, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import Invoice
from services.batches import approve_batch, batch_summary, build_batch, reject_batch
from services.clock import FixedClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.operations import initialise, list_events
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import ADDRESS, add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))


@pytest.fixture
def draft(settings: Settings) -> Settings:
    """A draft nl-bv batch for 2026-04 built by finn, with two customers' invoices."""
    initialise(settings)
    for name in ("Contoso", "Northwind"):
        customer = add_customer(settings, "nl-bv", name)
        sub = add_subscription(settings, "nl-bv", customer, f"sub-{name}", "2026-04-01")
        snapshot(settings, sub, "2026-04-01", 5)
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    return settings


@pytest.mark.parametrize(("who", "message"), [
    ("dana", "lacks role 'approver'"),  # the service desk
    ("finn", "lacks role 'approver'"),  # finance without approval rights
    ("greta", "tenant 'nl-bv': not found"),  # approver of another legal entity
    ("scheduler", "needs a signed-in person"),  # the nightly jobs
])
def test_only_approvers_of_the_tenant_approve(draft: Settings, who: str, message: str) -> None:
    with pytest.raises((NotAllowed, NotFound), match=message):
        approve_batch(draft, "nl-bv", "2026-04", actor(draft, who), CLOCK)


def test_the_builder_cannot_approve_their_own_batch(draft: Settings) -> None:
    build_batch(draft, "nl-bv", "2026-05", actor(draft, "anna"), CLOCK)
    with pytest.raises(NotAllowed, match="four-eyes"):
        approve_batch(draft, "nl-bv", "2026-05", actor(draft, "anna"), CLOCK)


def test_whoever_last_changed_it_cannot_approve_either(draft: Settings) -> None:
    with UnitOfWork(engine_for(draft), write=True) as uow:
        tenant = uow.tenants.by_code("nl-bv")
        customer = uow.customers.add(tenant.id, "Late Ltd", country="NL", **ADDRESS).id
    sub = add_subscription(draft, "nl-bv", customer, "sub-late", "2026-04-03")
    snapshot(draft, sub, "2026-04-03", 1)
    report = build_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)
    assert report.added == 1
    with pytest.raises(NotAllowed, match="four-eyes"):
        approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)
    assert approve_batch(draft, "nl-bv", "2026-04", actor(draft, "ada"), CLOCK).invoices == 3


def test_approval_numbers_and_locks_the_invoices(draft: Settings) -> None:
    report = approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)
    assert (report.first_number, report.last_number, report.issue_date) == (
        "NL2026-00001", "NL2026-00002", dt.date(2026, 5, 2))
    with UnitOfWork(engine_for(draft)) as uow:
        found = uow.session.scalars(select(Invoice).order_by(Invoice.number)).all()
        assert [(i.number, i.status) for i in found] == [("NL2026-00001", "approved"), ("NL2026-00002", "approved")]
    with pytest.raises(NotAllowed, match="already approved"):
        approve_batch(draft, "nl-bv", "2026-04", actor(draft, "ada"), CLOCK)
    with pytest.raises(NotAllowed, match="already approved"):
        reject_batch(draft, "nl-bv", "2026-04", actor(draft, "ada"), "too late", CLOCK)
    events = list_events(draft, actor(draft, "anna"), "nl-bv", action="batch.approve")
    assert events[0]["actor"] == "anna" and events[0]["after"]["first_number"] == "NL2026-00001"
    assert events[0]["before"]["totals"] == events[0]["after"]["totals"]


def test_reject_keeps_a_draft_with_the_reason(draft: Settings) -> None:
    with pytest.raises(ValidationFailed, match="rejection_reason"):
        reject_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), "  ", CLOCK)
    report = reject_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), "Contoso disputes the seat count", CLOCK)
    assert report.status == "draft"
    summary = batch_summary(draft, "nl-bv", "2026-04", actor(draft, "finn"))
    assert (summary["batch"]["rejected_by"], summary["batch"]["rejection_reason"]) == (
        "anna", "Contoso disputes the seat count")
    assert [e["action"] for e in list_events(draft, actor(draft, "finn"), "nl-bv")] == ["batch.reject", "batch.build"]
    assert approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK).status == "approved"


def test_review_shows_totals_diff_and_is_tenant_isolated(draft: Settings) -> None:
    approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)
    build_batch(draft, "nl-bv", "2026-05", actor(draft, "finn"), CLOCK)
    summary = batch_summary(draft, "nl-bv", "2026-05", actor(draft, "finn"))
    assert summary["diff"]["previous_month"] == "2026-04"
    assert summary["batch"]["totals"]["EUR"]["net"] == "345.00"
    assert [c["status"] for c in summary["diff"]["customers"]] == []  # same amounts both months
    unbilled = add_subscription(draft, "nl-bv", add_customer(draft, "nl-bv", "Elsewhere"), "sub-unbilled",
                                "2026-05-01")
    with UnitOfWork(engine_for(draft), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        for subscription, sentence in ((1, "vendor shows 6 since 05-12, no mutation"), (unbilled, "not billed")):
            uow.discrepancies.raise_(f"test-{subscription}", CLOCK.now(), tenant_id=tenant_id,
                                     subscription_id=subscription, kind="unconfirmed_change", sentence=sentence)
    shown = batch_summary(draft, "nl-bv", "2026-05", actor(draft, "finn"))["discrepancies"]
    assert [(d["subscription_id"], d["sentence"]) for d in shown] == [(1, "vendor shows 6 since 05-12, no mutation")]
    with pytest.raises(NotFound):
        batch_summary(draft, "nl-bv", "2026-05", actor(draft, "greta"))


def test_anyone_who_changed_the_draft_since_it_was_built_cannot_approve(draft: Settings) -> None:
    customer = add_customer(draft, "nl-bv", "Late Ltd")
    snapshot(draft, add_subscription(draft, "nl-bv", customer, "sub-late", "2026-04-03"), "2026-04-03", 1)
    assert build_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK).added == 1  # anna changes it
    other = add_customer(draft, "nl-bv", "Later Ltd")
    snapshot(draft, add_subscription(draft, "nl-bv", other, "sub-later", "2026-04-04"), "2026-04-04", 1)
    assert build_batch(draft, "nl-bv", "2026-04", actor(draft, "finn"), CLOCK).added == 1  # finn changes it last
    with pytest.raises(NotAllowed, match="'anna' built or changed it"):
        approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)


def test_approval_records_both_people_and_how_each_signed_in(draft: Settings) -> None:
    anna = actor(draft, "anna")
    approve_batch(draft, "nl-bv", "2026-04", anna, CLOCK)
    with UnitOfWork(engine_for(draft)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        assert batch.makers == ["finn"]
        assert batch.built_auth == {"username": "finn", "principal": "person", "method": "test",
                                    "session": batch.built_auth["session"]}
        assert batch.approved_auth == {"username": "anna", "principal": "person", "method": "test",
                                       "session": anna.session_id}
    event = list_events(draft, anna, "nl-bv", action="batch.approve")[0]
    assert (event["after"]["built"]["username"], event["after"]["approved"]["session"]) == ("finn", anna.session_id)


def test_a_later_month_waits_for_the_earlier_draft(draft: Settings) -> None:
    build_batch(draft, "nl-bv", "2026-05", actor(draft, "finn"), CLOCK)
    with pytest.raises(NotAllowed, match="the earlier batch 2026-04 is still a draft"):
        approve_batch(draft, "nl-bv", "2026-05", actor(draft, "anna"), CLOCK)
    april = approve_batch(draft, "nl-bv", "2026-04", actor(draft, "anna"), CLOCK)
    may = approve_batch(draft, "nl-bv", "2026-05", actor(draft, "anna"), CLOCK)
    assert april.last_number < may.first_number
