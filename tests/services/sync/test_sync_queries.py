"""The desk's questions of the synced ledger: quantity on a day with its coverage, and the reduction outlook."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from config import Settings
from connectors.errors import SourceUnavailable
from connectors.records import PullResult
from services.clock import FixedClock
from services.desk import quantity_on_day, subscription_outlook
from services.errors import NotFound
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.services.sync.test_sync_support import Vendor, licence, night

UTC = dt.UTC
D = dt.date


@pytest.fixture
def ledger(settings: Settings) -> tuple[Settings, int]:
    initialise(settings)
    vendor = Vendor()
    for day, seats in ((1, 10), (2, 10), (3, 14)):
        vendor.answers["pax8"] = PullResult(licences=(licence("s1", seats, term_start=D(2026, 4, 1),
                                                              term_end=D(2027, 3, 31)),))
        sync(settings, FixedClock(night(day)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    vendor.answers["pax8"] = SourceUnavailable("pax8", "HTTP 503")
    sync(settings, FixedClock(night(4)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    with UnitOfWork(engine_for(settings)) as uow:
        return settings, uow.subscriptions.by_external_id("pax8", "s1").id


def test_quantity_on_a_day_since_when_and_which_read_backs_it(ledger) -> None:
    settings, s1 = ledger
    dana = actor(settings, "dana")
    answers = {d: quantity_on_day(settings, dana, s1, D(2026, 5, d)) for d in (1, 2, 3, 4)}
    assert [(a.quantity, a.since, a.read_on) for a in answers.values()] == [
        (10, D(2026, 5, 1), D(2026, 5, 1)),
        (10, D(2026, 5, 1), D(2026, 5, 2)),
        (14, D(2026, 5, 3), D(2026, 5, 3)),
        (14, D(2026, 5, 3), None),  # the night of the 4th failed: no complete read backs that day yet
    ]
    assert quantity_on_day(settings, dana, s1, D(2026, 4, 30)).quantity is None
    with pytest.raises(NotFound):
        quantity_on_day(settings, actor(settings, "finn"), s1, D(2026, 5, 1))


def test_outlook_names_what_can_still_be_reduced_and_when(ledger) -> None:
    settings, s1 = ledger
    dana = actor(settings, "dana")
    inside = subscription_outlook(settings, dana, s1, FixedClock(dt.datetime(2026, 5, 5, 12, tzinfo=UTC)))
    assert (inside.quantity, inside.reducible_now, inside.reducible_until, inside.next_allowed_reduction) == (
        Decimal(14), Decimal(4), dt.datetime(2026, 5, 10, 0, 30, tzinfo=UTC), D(2026, 5, 5))
    late = subscription_outlook(settings, dana, s1, FixedClock(dt.datetime(2026, 5, 20, 12, tzinfo=UTC)))
    assert (late.reducible_now, late.reducible_until, late.next_allowed_reduction, late.renewal_date) == (
        Decimal(0), None, D(2027, 4, 1), D(2027, 4, 1))
    assert (late.term, late.billing, late.term_end) == ("P1Y", "P1M", D(2027, 3, 31))
