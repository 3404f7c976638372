"""The discrepancy list as the desk works it: sorting, filters, counts and totals, bulk acknowledge/resolve with one
note, owners; through the services and end to end through the real `cspbill discrepancies` command."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert

from config import Settings
from connectors.records import PullResult
from ledger.models import Discrepancy
from services.clock import FixedClock
from services.desk import FindingQuery, act_on_discrepancies, assign_discrepancies, find_discrepancies
from services.errors import NotFound, ValidationFailed
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, nightly, people_env
from tests.services.sync.test_sync_support import Vendor, licence, night

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
D = dt.date
NOW = FixedClock(dt.datetime(2026, 5, 23, 9, tzinfo=dt.UTC))
# name: (kind, customer, first day, last day, amount, status, month)
FINDINGS = {
    "change": ("vendor_change_unexplained", "c1", D(2026, 5, 3), D(2026, 5, 22), "72.52", "open", "2026-05"),
    "billed": ("billed_vs_vendor", "c2", D(2026, 5, 1), D(2026, 5, 10), "130.4", "open", "2026-05"),
    "waiting": ("mutation_not_provisioned", "c1", D(2026, 5, 20), D(2026, 5, 22), None, "open", "2026-05"),
    "april": ("negative_margin", "c2", D(2026, 4, 1), D(2026, 4, 30), "5", "resolved", "2026-04"),
}


@pytest.fixture
def findings(ledger: Settings) -> dict[str, int]:
    """Two de-gmbh customers (Pax8) with the findings of ``FINDINGS``; name -> discrepancy id."""
    vendor = Vendor()
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 10, customer="c1", customer_reference="ERP-1"),
                                                  licence("s2", 5, customer="c2", customer_reference="ERP-2")))
    sync(ledger, FixedClock(night(1)), who=nightly(ledger), source="pax8", open_reader=vendor.open)
    ids = {}
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        subs = {s.external_id: s for s in uow.subscriptions.by_source("pax8")}
        for name, (kind, customer, first, last, amount, status, month) in FINDINGS.items():
            sub = subs["s1" if customer == "c1" else "s2"]
            row = Discrepancy(tenant_id=sub.tenant_id, customer_id=sub.customer_id, subscription_id=sub.id,
                              fingerprint=f"{kind}:{sub.id}:{month}", kind=kind, day=first, last_day=last,
                              sentence=f"{name} of sub {sub.id}", details={"month": month}, status=status,
                              month=month, amount=None if amount is None else Decimal(amount),
                              currency=None if amount is None else "EUR")
            uow.session.add(row)
            uow.session.flush()
            ids[name] = row.id
    return ids


@pytest.mark.parametrize(("query", "expected"), [
    (FindingQuery(), ["waiting", "change", "billed"]),  # latest first day first
    (FindingQuery(sort="amount"), ["billed", "change", "waiting"]),  # unpriced last
    (FindingQuery(sort="days"), ["change", "billed", "waiting"]),
    (FindingQuery(sort="customer"), ["change", "waiting", "billed"]),
    (FindingQuery(sort="kind"), ["billed", "waiting", "change"]),
    (FindingQuery(kind="billed_vs_vendor"), ["billed"]),
    (FindingQuery(customer="C2"), ["billed"]),
    (FindingQuery(status=None, month="2026-04"), ["april"]),
    (FindingQuery(status="resolved", sort="amount"), ["april"]),
    (FindingQuery(tenant="nl-bv"), []),
])
def test_sorting_and_filters(ledger: Settings, findings: dict[str, int], query: FindingQuery,
                             expected: list[str]) -> None:
    names = {number: name for name, number in findings.items()}
    found = find_discrepancies(ledger, actor(ledger, "dana"), query)
    assert [names[d.id] for d in found.page.items] == expected


def test_counts_totals_and_paging(ledger: Settings, findings: dict[str, int]) -> None:
    found = find_discrepancies(ledger, actor(ledger, "dana"), FindingQuery(sort="amount"), offset=1, limit=1)
    assert found.counts == {"billed_vs_vendor": 1, "mutation_not_provisioned": 1, "vendor_change_unexplained": 1}
    assert found.totals == {"EUR": Decimal("202.92")} and found.matching == 3
    (item,) = found.page.items
    assert (item.id, item.customer, item.days, item.amount) == (findings["change"], "Customer c1", 20,
                                                                Decimal("72.52"))
    assert (found.page.previous_offset, found.page.next_offset) == (0, 2)
    with pytest.raises(ValidationFailed, match="sort: 'price'"):
        find_discrepancies(ledger, actor(ledger, "dana"), FindingQuery(sort="price"))
    with pytest.raises(ValidationFailed, match="month: '2026-13'"):
        find_discrepancies(ledger, actor(ledger, "dana"), FindingQuery(month="2026-13"))


def test_every_matching_finding_is_sorted_counted_and_totalled(ledger: Settings, findings: dict[str, int]) -> None:
    """A month at a million subscriptions holds tens of thousands of findings (50,000 in build_batch_1400k): the list
    sorts, counts and totals all of them, not a first slice (it read the 10,000 lowest ids, so the newest findings
    never showed and the counts stopped at 10,000)."""
    extra = 10_050
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        sub = uow.subscriptions.by_source("pax8")[0]
        uow.session.execute(insert(Discrepancy), [
            {"tenant_id": sub.tenant_id, "customer_id": sub.customer_id, "subscription_id": sub.id,
             "fingerprint": f"bulk:{n}", "kind": "billed_vs_vendor", "day": D(2026, 5, 1) + dt.timedelta(days=n // 400),
             "last_day": D(2026, 6, 30), "sentence": f"bulk {n}", "details": {}, "status": "open", "month": "2026-05",
             "amount": Decimal("0.01"), "currency": "EUR", "first_seen_at": NOW.now(), "last_seen_at": NOW.now()}
            for n in range(extra)])
    found = find_discrepancies(ledger, actor(ledger, "dana"), FindingQuery(), limit=2)
    assert found.matching == extra + 3
    assert found.counts["billed_vs_vendor"] == extra + 1
    assert found.totals == {"EUR": Decimal("202.92") + extra * Decimal("0.01")}
    assert [item.sentence for item in found.page.items] == [f"bulk {extra - 1}", f"bulk {extra - 2}"]  # the newest


def test_bulk_resolve_and_acknowledge_with_one_note_all_or_none(ledger: Settings, findings: dict[str, int]) -> None:
    dana = actor(ledger, "dana")
    pair = [findings["change"], findings["billed"]]
    with pytest.raises(ValidationFailed, match="a resolution note is required"):
        act_on_discrepancies(ledger, dana, pair, "resolve", "  ", NOW)
    with pytest.raises(NotFound, match="discrepancy 999"):
        act_on_discrepancies(ledger, dana, [*pair, 999], "resolve", "checked", NOW)
    assert find_discrepancies(ledger, dana, FindingQuery()).matching == 3  # nothing changed
    acknowledged = act_on_discrepancies(ledger, dana, [findings["waiting"]], "acknowledge", "asked Ingram", NOW)
    assert [(d.status, d.acknowledged_by, d.acknowledgement_note) for d in acknowledged] == [
        ("open", "dana", "asked Ingram")]
    done = act_on_discrepancies(ledger, dana, pair, "resolve", "customer confirmed, ticket T-7", NOW)
    assert [(d.status, d.resolved_by, d.resolution_note) for d in done] == [
        ("resolved", "dana", "customer confirmed, ticket T-7")] * 2
    assert [d.id for d in find_discrepancies(ledger, dana, FindingQuery()).page.items] == [findings["waiting"]]
    with UnitOfWork(engine_for(ledger)) as uow:
        actions = [(e.action, int(e.entity_id)) for e in uow.audit.list() if e.action.startswith("discrepancy.")]
    assert sorted(actions) == sorted([("discrepancy.acknowledge", findings["waiting"]),
                                      ("discrepancy.resolve", findings["change"]),
                                      ("discrepancy.resolve", findings["billed"])])


def test_owners_are_people_of_the_desk_who_see_the_entity(ledger: Settings, findings: dict[str, int]) -> None:
    dana = actor(ledger, "dana")
    with pytest.raises(ValidationFailed, match=r"owner: 'finn' does not work the desk of de-gmbh"):
        assign_discrepancies(ledger, dana, [findings["change"]], "finn", NOW)
    with pytest.raises(ValidationFailed, match="owner: 'nobody' is not a person"):
        assign_discrepancies(ledger, dana, [findings["change"]], "nobody", NOW)
    assign_discrepancies(ledger, dana, [findings["change"], findings["waiting"]], "dana", NOW)
    mine = find_discrepancies(ledger, dana, FindingQuery(owner="dana", sort="kind"))
    assert [d.id for d in mine.page.items] == [findings["waiting"], findings["change"]]
    assert [d.owner for d in assign_discrepancies(ledger, dana, [findings["waiting"]], None, NOW)] == [None]


def test_the_cli_lists_resolves_and_assigns(ledger: Settings, findings: dict[str, int], tmp_path: Path) -> None:
    config = tmp_path / "cli.yaml"
    data = demo_config_data()
    data["database"] = {"url": ledger.database_url(), "url_env": None}
    config.write_text(yaml.safe_dump(data))
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": "2026-05-23T09:00:00Z", **people_env(config)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return run_cli(["discrepancies", *args, "--as", "dana"], env=env)

    listed = run("list", "--sort", "amount", "--json")
    assert listed.returncode == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert [d["id"] for d in out["discrepancies"]] == [findings["billed"], findings["change"], findings["waiting"]]
    assert out["totals"] == {"EUR": "202.92"} and out["counts"]["vendor_change_unexplained"] == 1
    assert out["discrepancies"][0]["days"] == 10 and out["discrepancies"][0]["customer"] == "Customer c2"
    refused = run("resolve", str(findings["billed"]), "--note", " ")
    assert refused.returncode != 0 and "a resolution note is required" in refused.stderr
    resolved = run("resolve", str(findings["billed"]), str(findings["change"]), "--note", "ticket T-8")
    assert resolved.returncode == 0, resolved.stderr
    assert f"discrepancy {findings['billed']}: resolved, resolved by dana" in resolved.stdout
    assigned = run("assign", str(findings["waiting"]), "--owner", "dana")
    assert assigned.returncode == 0 and "owner dana" in assigned.stdout
    table = run("list", "--kind", "mutation_not_provisioned", "--owner", "dana")
    assert table.returncode == 0 and "mutation_not_provisioned" in table.stdout and "1 matching" in table.stdout
