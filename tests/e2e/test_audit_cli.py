"""The real ``cspbill audit`` and ``cspbill audit verify`` on SQLite and PostgreSQL: a replayed clock shows beside the
wall-clock time, and a database owner who edits or deletes an audit row (dropping the append-only trigger first) is
found, with the event named and exit code 1."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from config import Settings
from ledger import append_only
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import NOW, config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.identity import actor

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it


@pytest.fixture
def month_closed(config_file: Path, settings: Settings) -> Path:  # noqa: F811 - the fixture above, extended
    """nl-bv 2026-05 (empty) built twice and approved, "as of" the replayed ``NOW`` (the CLI runs the same services;
    the commands under test here are the audit ones)."""
    initialise(settings)
    clock = FixedClock(dt.datetime.fromisoformat(NOW.replace("Z", "+00:00")))
    for _ in range(2):
        build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), clock)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), clock)
    return config_file


def events(config: Path) -> list[dict]:
    return json.loads(cspbill(config, "audit", "--tenant", "nl-bv", "--as", "finn", "--json").stdout)


def tamper(engine: Engine, statement: str) -> None:
    """What a database owner could do: drop the append-only trigger, then rewrite the row."""
    with engine.begin() as connection:
        append_only.drop(connection, ["audit_events"])
        connection.execute(text(statement))


def test_an_intact_trail_verifies_and_shows_both_instants(month_closed: Path) -> None:
    verified = cspbill(month_closed, "audit", "verify", "--as", "ada")
    lines = verified.stdout.strip().splitlines()
    assert lines[0] == "chain de-gmbh: 0 events, intact"
    assert lines[1].startswith("chain nl-bv: 3 events, intact, head ")
    assert lines[2].startswith("chain global: 2 events, intact, head ")
    build = next(e for e in events(month_closed) if e["action"] == "batch.build")
    assert build["at"].startswith(NOW[:19]) and not build["recorded_at"].startswith(NOW[:10])
    listed = cspbill(month_closed, "audit", "--tenant", "nl-bv", "--as", "finn").stdout
    assert "recorded" in listed and "2026-06-02T07:00:00" in listed


def test_an_edited_after_json_is_found(month_closed: Path, settings: Settings) -> None:
    build = next(e for e in events(month_closed) if e["action"] == "batch.build")
    tamper(engine_for(settings), f"""UPDATE audit_events SET after = '{{"invoices": 99}}' WHERE id = {build['id']}""")
    verified = cspbill(month_closed, "audit", "verify", "--tenant", "nl-bv", "--as", "finn", ok=False)
    assert verified.returncode == 1
    assert verified.stdout.strip() == (f"chain nl-bv: broken at seq {build['seq']} (event {build['id']}): content "
                                       f"changed since it was recorded (its hash no longer matches)")


def test_a_deleted_event_is_found(month_closed: Path, settings: Settings) -> None:
    _, second, third = sorted(events(month_closed), key=lambda e: e["seq"])
    tamper(engine_for(settings), f"DELETE FROM audit_events WHERE id = {second['id']}")
    verified = cspbill(month_closed, "audit", "verify", "--as", "ada", ok=False)
    assert verified.returncode == 1
    assert (f"chain nl-bv: broken at seq 3 (event {third['id']}): seq 2..2 missing (event deleted?)"
            in verified.stdout.splitlines())
    assert "chain global: 2 events, intact" in verified.stdout  # the other chains are still reported


def test_the_last_event_deleted_is_found_by_the_head(month_closed: Path, settings: Settings) -> None:
    last = max(events(month_closed), key=lambda e: e["seq"])
    tamper(engine_for(settings), f"DELETE FROM audit_events WHERE id = {last['id']}")
    verified = cspbill(month_closed, "audit", "verify", "--tenant", "nl-bv", "--as", "finn", ok=False)
    assert verified.stdout.strip() == "chain nl-bv: broken at seq 3: seq 3..3 missing at the end (events deleted?)"
