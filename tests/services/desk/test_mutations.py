"""Desk mutations through the service and the CLI: validated against the vendor's seat batches before saving."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from connectors.records import PullResult
from ledger.models import AuditEvent, Mutation
from services.access import Actor
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, cancel_mutation, list_mutations
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, nightly, people_env
from tests.services.sync.test_sync_support import Vendor, licence, night

UTC = dt.UTC
D = dt.date
DANA = "dana"  # desk, both legal entities


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    """de-gmbh (pax8): s1 bought 2026-04-01 with 10 seats, +4 seen on the night of 05-03, s2 stated batches."""
    initialise(settings)
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10, term_start=D(2026, 4, 1),
                                                          term_end=D(2027, 3, 31)),))})
    sync(settings, FixedClock(night(1)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    until = dt.datetime(2026, 5, 9, 14, 0, tzinfo=UTC)
    vendor.answers["pax8"] = PullResult(licences=(
        licence("s1", 14, term_start=D(2026, 4, 1), term_end=D(2027, 3, 31)),
        licence("s2", 6, customer="c2", refundable_batches=((Decimal(2), until),)),
    ))
    sync(settings, FixedClock(night(3)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    return settings


def sub_id(settings: Settings, external_id: str) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.subscriptions.by_external_id("pax8", external_id).id


def add(settings: Settings, when: dt.datetime, user: str = DANA, **fields):
    request = MutationRequest(**{"ticket_ref": "T-1", "effective_date": when.date(), **fields})
    return add_mutation(settings, actor(settings, user), request, FixedClock(when))


def test_an_increase_is_saved_open_and_audited(ledger: Settings) -> None:
    s1 = sub_id(ledger, "s1")
    saved = add(ledger, dt.datetime(2026, 5, 12, 9, tzinfo=UTC), subscription_id=s1, delta=Decimal(3),
                ticket_ref="T-100")
    assert (saved.kind, saved.new_quantity, saved.delta, saved.status, saved.created_by) == (
        "increase", Decimal(17), Decimal(3), "open", "dana")
    with UnitOfWork(engine_for(ledger)) as uow:
        (event,) = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "mutation.add")).all()
        assert (event.actor, event.entity_id, event.after["new_quantity"]) == ("dana", str(saved.id), "17")


def test_reducing_the_seats_seen_added_is_allowed_inside_168_hours(ledger: Settings) -> None:
    # the +4 batch was first seen the night of 05-03 (00:30 UTC): reducible until 05-10 00:30 UTC
    saved = add(ledger, dt.datetime(2026, 5, 9, 23, tzinfo=UTC), subscription_id=sub_id(ledger, "s1"),
                new_quantity=Decimal(10))
    assert (saved.kind, saved.status, saved.delta) == ("decrease", "open", Decimal(-4))


def test_a_late_reduction_is_refused_with_the_rule_and_the_next_date(ledger: Settings) -> None:
    s1 = sub_id(ledger, "s1")
    with pytest.raises(ValidationFailed) as refused:
        add(ledger, dt.datetime(2026, 5, 12, 9, tzinfo=UTC), subscription_id=s1, new_quantity=Decimal(12))
    assert str(refused.value) == (
        f"reduction of sub {s1} (Example 365 E3) refused: NCE seats added 2026-05-03 00:30 UTC can only be reduced "
        "until 2026-05-10 00:30 UTC; next allowed: renewal on 2027-04-01")
    with UnitOfWork(engine_for(ledger)) as uow:
        assert uow.session.scalars(select(Mutation)).all() == []


def test_a_late_reduction_can_be_scheduled_for_the_renewal(ledger: Settings) -> None:
    saved = add(ledger, dt.datetime(2026, 5, 12, 9, tzinfo=UTC), subscription_id=sub_id(ledger, "s1"),
                new_quantity=Decimal(12), schedule_if_late=True)
    assert (saved.status, saved.scheduled_for) == ("scheduled", D(2027, 4, 1))


def test_stated_seat_batches_win(ledger: Settings) -> None:
    s2 = sub_id(ledger, "s2")
    ok = add(ledger, dt.datetime(2026, 5, 9, 13, tzinfo=UTC), subscription_id=s2, delta=Decimal(-2))
    assert ok.new_quantity == 4
    with pytest.raises(ValidationFailed, match=r"only 2 were added in the last 168 hours \(can be reduced until "
                                               r"2026-05-09 14:00 UTC\)"):
        add(ledger, dt.datetime(2026, 5, 9, 13, tzinfo=UTC), subscription_id=s2, delta=Decimal(-3), ticket_ref="T-2")


def test_no_change_before_the_start(ledger: Settings) -> None:
    s1 = sub_id(ledger, "s1")
    with pytest.raises(ValidationFailed, match="before the subscription starts on 2026-04-01; next allowed: "
                                               "2026-04-01"):
        add(ledger, dt.datetime(2026, 5, 12, 9, tzinfo=UTC), subscription_id=s1, delta=Decimal(1),
            effective_date=D(2026, 3, 30))


def test_adding_the_same_ticket_twice_returns_the_first(ledger: Settings) -> None:
    s1 = sub_id(ledger, "s1")
    when = dt.datetime(2026, 5, 12, 9, tzinfo=UTC)
    first = add(ledger, when, subscription_id=s1, delta=Decimal(3))
    again = add(ledger, when, subscription_id=s1, delta=Decimal(3))
    assert again.id == first.id
    assert len(list_mutations(ledger, actor(ledger, DANA))) == 1


def test_cancel_list_and_access(ledger: Settings) -> None:
    s1 = sub_id(ledger, "s1")
    when = dt.datetime(2026, 5, 12, 9, tzinfo=UTC)
    saved = add(ledger, when, subscription_id=s1, delta=Decimal(3))
    done = cancel_mutation(ledger, actor(ledger, DANA), saved.id, FixedClock(when))
    assert (done.status, done.cancelled_by) == ("cancelled", "dana")
    assert [m.id for m in list_mutations(ledger, actor(ledger, DANA), month="2026-05", status="cancelled")] == [
        saved.id]
    assert list_mutations(ledger, actor(ledger, DANA), month="2026-06") == []
    with pytest.raises(NotFound, match=f"subscription {s1}: not found"):
        add(ledger, when, user="finn", subscription_id=s1, delta=Decimal(1))  # finn sees nl-bv only
    approver_only = Actor("x", frozenset({"approver"}), frozenset({"de-gmbh"}))
    with pytest.raises(NotAllowed, match="lacks role 'desk'"):
        add_mutation(ledger, approver_only, MutationRequest(s1, D(2026, 5, 12), "T-9", delta=Decimal(1)),
                     FixedClock(when))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_refuses_with_one_line_and_saves_with_cspbill_now(ledger: Settings, tmp_path: Path) -> None:
    config = tmp_path / "cli.yaml"
    data = demo_config_data()
    data["database"] = {"url": ledger.database_url(), "url_env": None}
    config.write_text(yaml.safe_dump(data))
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": "2026-05-12T09:00:00Z", **people_env(config)}
    s1 = str(sub_id(ledger, "s1"))
    refused = run_cli(["mutation", "add", "-s", s1, "-q", "12", "-t", "T-7", "--as", "dana"], env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: reduction of sub {s1} (Example 365 E3) refused: NCE seats added 2026-05-03 00:30 UTC can only be "
        "reduced until 2026-05-10 00:30 UTC; next allowed: renewal on 2027-04-01"]
    saved = run_cli(["mutation", "add", "-s", s1, "-d", "2", "-t", "T-8", "--as", "dana"], env=env)
    assert saved.returncode == 0, saved.stderr
    assert "increase of sub" in saved.stdout and "effective 2026-05-12, status open" in saved.stdout
    listed = run_cli(["mutation", "list", "--json"], env=env)
    assert '"ticket_ref": "T-8"' in listed.stdout
