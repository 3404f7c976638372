"""`cspbill mutation add` and `cspbill mutation cancel` end to end, as a signed-in person: the seat maximum of
``desk.mutations`` (default and per product) refused in one line naming the field, nothing stored; a pending
mutation withdrawn and audited, a second withdraw a no-op, one the vendor has refused in plain words."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from ledger.models import AuditEvent, Mutation
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import people_env
from tests.services.desk.test_mutations import ledger, sub_id

__all__ = ["ledger"]  # the fixture: de-gmbh's pax8 subscription s1 with 14 seats (P-E3, Example 365 E3)
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def cli(ledger: Settings, tmp_path: Path):
    """Run `cspbill` against the fixture's ledger; ``desk.mutations`` caps product P-E3 at 40 seats."""
    config = tmp_path / "cli.yaml"
    data = demo_config_data()
    data["database"] = {"url": ledger.database_url(), "url_env": None}
    data["desk"] = {"mutations": {"max_seats_per_product": {"P-E3": 40}}}
    config.write_text(yaml.safe_dump(data))
    env = {**os.environ, "CSPBILL_CONFIG": str(config), "CSPBILL_NOW": "2026-05-12T09:00:00Z", **people_env(config)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli([*args, "--as", "dana"], env=env)
    return run


def stored(settings: Settings) -> list[Mutation]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(Mutation)))


@pytest.mark.parametrize(("args", "line"), [
    (("-q", "12345678901234567890"), "mutation of sub {s1}: new_quantity: 12,345,678,901,234,567,890 seats is more "
                                     "than the 40 this product allows. Check the number for a typo; an administrator "
                                     "can raise desk.mutations.max_seats."),
    (("-q", "41"), "mutation of sub {s1}: new_quantity: 41 seats is more than the 40 this product allows. Check the "
                   "number for a typo; an administrator can raise desk.mutations.max_seats."),
    (("-d", "+27"), "mutation of sub {s1}: delta: 41 seats is more than the 40 this product allows. Check the number "
                    "for a typo; an administrator can raise desk.mutations.max_seats."),
    (("-q", "twelve"), "--quantity: “twelve” is not a number: enter a whole number of seats such as 12."),
    (("-q", "15.5"), "--quantity: Seats are whole numbers: “15.5” is not one."),
    (("-q", "15", "-d", "1"), "mutation of sub {s1}: new_quantity: Enter the new seat count, a change (+3 or -2), or "
                              "tick cancel — one of them."),
])
def test_implausible_seats_are_refused_in_one_line_and_nothing_is_stored(ledger: Settings, cli, args: tuple,
                                                                         line: str) -> None:
    s1 = str(sub_id(ledger, "s1"))
    refused = cli("mutation", "add", "-s", s1, "-t", "T-50", *args)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [f"error: {line.format(s1=s1)}"]
    assert stored(ledger) == []


def test_the_maximum_itself_is_allowed(ledger: Settings, cli) -> None:
    saved = cli("mutation", "add", "-s", str(sub_id(ledger, "s1")), "-t", "T-51", "-q", "40", "--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["new_quantity"] == "40"


def test_a_pending_mutation_is_withdrawn_once_and_audited(ledger: Settings, cli) -> None:
    s1 = str(sub_id(ledger, "s1"))
    saved = json.loads(cli("mutation", "add", "-s", s1, "-t", "T-52", "-d", "+2", "--json").stdout)
    done = cli("mutation", "cancel", str(saved["id"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"mutation {saved['id']} withdrawn: increase of sub {s1} (Example 365 E3) "
                                   "effective 2026-05-12, status cancelled (by dana)")
    again = cli("mutation", "cancel", str(saved["id"]))
    assert again.returncode == 0 and "status cancelled" in again.stdout
    with UnitOfWork(engine_for(ledger)) as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "mutation.cancel")).all()
        assert [(e.actor, e.entity_id, e.before["status"], e.after["status"]) for e in events] == [
            ("dana", str(saved["id"]), "open", "cancelled")]


def test_a_mutation_the_vendor_already_shows_is_not_withdrawn(ledger: Settings, cli) -> None:
    saved = json.loads(cli("mutation", "add", "-s", str(sub_id(ledger, "s1")), "-t", "T-53", "-d", "+2",
                           "--json").stdout)
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        uow.mutations.get(saved["id"]).status = "provisioned"  # what reconciliation records once the vendor shows it
    refused = cli("mutation", "cancel", str(saved["id"]))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"error: Mutation {saved['id']} cannot be withdrawn: the vendor already shows "
                                      "this change. Enter a new mutation to change the seats back.")
    assert [m.status for m in stored(ledger)] == ["provisioned"]
