"""``verify_chains``: who may verify which chain, and what a verdict says."""

from __future__ import annotations

import datetime as dt

import pytest

from config import Settings
from services.batches import build_batch
from services.clock import FixedClock
from services.errors import NotAllowed, NotFound
from services.operations import audit_page, initialise, list_events, verify_chains
from tests.identity import actor

REPLAYED = dt.datetime(2026, 6, 2, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), FixedClock(REPLAYED))
    build_batch(settings, "de-gmbh", "2026-05", actor(settings, "greta"), FixedClock(REPLAYED))
    return settings


@pytest.mark.parametrize(("user", "tenant", "chains"), [
    ("finn", None, ["nl-bv"]),
    ("finn", "nl-bv", ["nl-bv"]),
    ("greta", None, ["de-gmbh"]),
    ("ada", None, ["de-gmbh", "nl-bv", "global"]),
    ("ada", "de-gmbh", ["de-gmbh"]),
])
def test_finance_verifies_its_legal_entities_and_an_admin_every_chain(ledger: Settings, user: str,
                                                                      tenant: str | None, chains: list[str]) -> None:
    verdicts = verify_chains(ledger, actor(ledger, user), tenant)
    assert [v.label for v in verdicts] == chains
    assert all(v.intact for v in verdicts)
    counts = {v.label: v.events for v in verdicts}
    assert counts.get("nl-bv", 1) == counts.get("de-gmbh", 1) == 1 and counts.get("global", 2) == 2
    assert verdicts[0].sentence == f"chain {chains[0]}: {verdicts[0].events} events, intact, head " \
                                   f"{verdicts[0].head_hash}"


@pytest.mark.parametrize(("user", "tenant", "error"), [
    ("finn", "de-gmbh", NotFound),   # another legal entity's chain: as if it did not exist
    ("dana", None, NotAllowed),      # the service desk is not finance
])
def test_others_are_refused(ledger: Settings, user: str, tenant: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify_chains(ledger, actor(ledger, user), tenant)


def test_an_event_keeps_the_services_instant_and_the_wall_clock_time(ledger: Settings) -> None:
    (event,) = list_events(ledger, actor(ledger, "finn"), "nl-bv")
    assert event["action"] == "batch.build" and event["at"] == REPLAYED.isoformat()
    recorded = dt.datetime.fromisoformat(event["recorded_at"])
    assert abs(recorded - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert event["chain"].startswith("tenant:") and event["seq"] == 1


def test_the_audit_page_filters_by_actor_and_days_and_pages(ledger: Settings) -> None:
    ada = actor(ledger, "ada")
    build_batch(ledger, "nl-bv", "2026-06", actor(ledger, "finn"), FixedClock(REPLAYED + dt.timedelta(days=31)))
    first = audit_page(ledger, ada, actor="finn", limit=1)
    assert [e["action"] for e in first.items] == ["batch.build"] and first.next_offset == 1
    assert first.items[0]["at"] == (REPLAYED + dt.timedelta(days=31)).isoformat()  # newest first
    second = audit_page(ledger, ada, actor="finn", limit=1, offset=1)
    assert second.items[0]["at"] == REPLAYED.isoformat() and second.next_offset is None
    june = audit_page(ledger, ada, "nl-bv", since=REPLAYED.date(), until=REPLAYED.date())
    assert [e["at"] for e in june.items] == [REPLAYED.isoformat()]
    assert audit_page(ledger, ada, actor="greta", action="batch.approve").items == []
