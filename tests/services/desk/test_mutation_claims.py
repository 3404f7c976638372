"""A desk mutation sent twice at once on PostgreSQL is saved once, and a mutation withdrawn twice at once is
withdrawn once (``services.desk.mutations``).

PostgreSQL does not serialise write transactions as SQLite's ``BEGIN IMMEDIATE`` does: two saves of one form (a
double click, a retried request) both looked for the ticket's mutation, found none and both saved one, each queued
for the vendor. Each test stops request B just before it writes (``tests.interleave``), lets request A run, then
lets B go on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from config import Settings
from connectors.records import PullResult
from ledger.models import AuditEvent, Mutation
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, cancel_mutation
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.interleave import b_paused_for_a
from tests.services.sync.test_sync_support import Vendor, licence, night

pytestmark = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                     indirect=True)
NOW = dt.datetime(2026, 5, 12, 9, tzinfo=dt.UTC)


def subscription(settings: Settings) -> int:
    """A pax8 subscription with 10 seats, seen the night of 05-01."""
    initialise(settings)
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10, term_start=dt.date(2026, 4, 1),
                                                          term_end=dt.date(2027, 3, 31)),))})
    sync(settings, FixedClock(night(1)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.subscriptions.by_external_id("pax8", "s1").id


def save(settings: Settings, sub: int) -> int:
    request = MutationRequest(subscription_id=sub, ticket_ref="T-7", effective_date=NOW.date(), delta=Decimal(3))
    return add_mutation(settings, actor(settings, "dana"), request, FixedClock(NOW)).id


def count(settings: Settings, action: str) -> tuple[int, int]:
    """The mutations saved, and the audit events of ``action``."""
    with UnitOfWork(engine_for(settings)) as uow:
        return (uow.session.scalar(select(func.count()).select_from(Mutation)),
                uow.session.scalar(select(func.count()).where(AuditEvent.action == action)))


def test_a_form_sent_twice_at_once_saves_one_mutation(settings: Settings) -> None:
    sub = subscription(settings)
    a: list[int] = []
    b = b_paused_for_a(engine_for(settings), ("INSERT INTO mutations",), lambda _done: save(settings, sub),
                       lambda: a.append(save(settings, sub)))
    assert a == [b], "each request saved its own mutation"
    assert count(settings, "mutation.add") == (1, 1)


def test_a_mutation_withdrawn_twice_at_once_is_withdrawn_once(settings: Settings) -> None:
    mutation_id = save(settings, subscription(settings))

    def withdraw() -> str:
        return cancel_mutation(settings, actor(settings, "dana"), mutation_id, FixedClock(NOW)).status

    a: list[str] = []
    b = b_paused_for_a(engine_for(settings), ("UPDATE mutations",), lambda _done: withdraw(),
                       lambda: a.append(withdraw()))
    assert [*a, b] == ["cancelled", "cancelled"]
    assert count(settings, "mutation.cancel") == (1, 1)
