"""A month of nightly `cspbill sync` runs against the vendor sandboxes, through the CLI's entry point.

Partner Center (with Entra), Azure Cost Management, Pax8 and Ingram CMP sandboxes run on loopback HTTPS with one
shared sandbox clock. Every night the test moves that clock through ``/__admin/clock`` and runs ``cspbill sync`` with
``CSPBILL_NOW`` set to the same instant: the first night through the installed console script in a process of its
own, the others through the same entry point in this process (``tests.cli.run_cli``: what a night does is under test
here, not the process start, which would be a third of the module's time).

Afterwards the ledger must answer "what was the quantity on day D, since when" exactly as each sandbox world says,
for every subscription and night; re-running a night stores nothing new; a source answering 500 is reported while
the others complete; a page cut off half-way (``broken_page``) leaves no half-stored run. The tests share one month
(module fixture) and run in file order, like the nights they replay.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import func, select

from config.loader import load_config
from ledger.models import Snapshot, SyncRun
from sandbox import cost_management, entra, ingram, partner_center, pax8
from sandbox.core import Clock, SandboxApp, SandboxServer
from sandbox.runner import run_all, stop_all
from sandbox.scenario_distributors import ingram_world, pax8_world
from sandbox.scenario_microsoft import scenario
from sandbox.tls import make_tls_files
from services.runtime import dispose_engines, engine_for
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.identity import people_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = 3
MONTH = dt.date(2026, 5, 1)
NIGHTS = 31
PAX8_DOWN = 29  # the night Pax8 answers 500 on every request
PAX8_RETRIES = 1  # the pax8 source's `retries`: its requests are tried twice
PC_BROKEN = 30  # the night a Partner Center page is cut off half-way (then re-run after the fault is cleared)
CSPBILL = str(Path(sys.executable).with_name("cspbill"))


def night(day: int) -> dt.datetime:
    """02:30 in Amsterdam: the nightly sync's instant (00:30 UTC in May)."""
    return dt.datetime(2026, 5, day, 0, 30, tzinfo=dt.UTC)


@dataclass
class Month:
    env: dict[str, str]
    urls: dict[str, str]
    config: Path
    apps: dict[str, SandboxApp]  # by sandbox name: the requests each received
    # the nights on which each source was read completely (ground truth for quantity-on-day)
    synced: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in ("partner-center", "pax8", "ingram")})
    outputs: dict[int, dict] = field(default_factory=dict)

    def sync(self, day: int, *args: str) -> subprocess.CompletedProcess:
        # one clock is shared by every sandbox: moving it through one admin route moves them all
        requests.post(f"{self.urls['entra']}/__admin/clock", json={"now": night(day).isoformat()},
                      verify=self.env["CA"], timeout=10).raise_for_status()
        env = {**self.env, "CSPBILL_NOW": night(day).isoformat()}
        if day == 1:
            return subprocess.run([CSPBILL, "sync", "--json", *args], capture_output=True, text=True, timeout=600,
                                  env=env)
        return run_cli(["sync", "--json", *args], env=env)

    def fault(self, sandbox: str, spec: dict | None) -> None:
        url = f"{self.urls[sandbox]}/__admin/faults"
        if spec is None:
            requests.delete(url, verify=self.env["CA"], timeout=10).raise_for_status()
        else:
            requests.post(url, json=spec, verify=self.env["CA"], timeout=10).raise_for_status()

    def run_night(self, day: int, *args: str, expect_ok: bool = True) -> dict:
        done = self.sync(day, *args)
        assert (done.returncode == 0) == expect_ok, done.stderr[-2000:]
        report = json.loads(done.stdout)
        for run in report["runs"]:
            if run["status"] != "failed" and run["source"] in self.synced:
                self.synced[run["source"]].append(day)
        self.outputs[day] = report
        return report


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    state = tmp_path_factory.mktemp("sandboxes")
    clock = Clock(night(1))
    running = run_all(state, SEED, clock=clock, modules=("sandbox.entra", "sandbox.partner_center", "sandbox.pax8",
                                                         "sandbox.ingram", "sandbox.ecb"))
    ca = str(state / "tls" / "sandbox-ca.pem")
    arm = SandboxServer(cost_management.build(clock, SEED, qpu_buckets=(("QueriesPer10Sec", 1000, 1.0),),
                                              entity_buckets=(("QueriesPerMin", 1000, 1.0),)),
                        tls=make_tls_files(state / "tls")).start()
    urls = {r.name: r.url for r in running} | {"cost_management": arm.url}
    authority = f"{urls['entra']}/{entra.CREDENTIALS['tenant_id']}"
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database"] = {"url": f"sqlite:///{state / 'ledger.db'}", "url_env": None}
    microsoft = {"authority_url": authority, "client_id_env": "E2E_MS_ID", "client_secret_env": "E2E_MS_SECRET",
                 "ca_bundle": ca}
    data["sources"] = [
        {"name": "partner-center", "kind": "partner_center", "tenant": "nl-bv", "base_url": urls["partner_center"],
         "graph_base_url": urls["partner_center"].removesuffix(partner_center.PREFIX) + partner_center.GRAPH_BASE,
         "account_id": "partner-tenant", "page_size": 2, "retries": 2, "backoff_seconds": 0.1, **microsoft},
        {"name": "azure-costs", "kind": "azure_costs", "tenant": "nl-bv", "base_url": urls["cost_management"],
         "account_id": scenario(SEED, MONTH).billing_account_id, "usage_lookback_days": 3, **microsoft},
        {"name": "pax8", "kind": "pax8", "tenant": "de-gmbh", "base_url": urls["pax8"], "page_size": 10,
         "retries": PAX8_RETRIES, "backoff_seconds": 0.1,
         "client_id_env": "E2E_PAX8_ID", "client_secret_env": "E2E_PAX8_SECRET", "ca_bundle": ca},
        {"name": "ingram", "kind": "ingram_cmp", "tenant": "de-gmbh", "base_url": urls["ingram"], "page_size": 5,
         "account_id": ingram.CREDENTIALS["marketplace"], "client_id_env": "E2E_CMP_USER",
         "client_secret_env": "E2E_CMP_PASSWORD", "api_key_env": "E2E_CMP_KEY", "ca_bundle": ca},
    ]
    data["fx"] = {"source": "ecb", "base_url": urls["ecb"], "ca_bundle": ca}  # Pax8 bills one offer in USD
    config = state / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {
        **os.environ, "CSPBILL_CONFIG": str(config), "CA": ca,
        "E2E_MS_ID": entra.CREDENTIALS["client_id"], "E2E_MS_SECRET": entra.CREDENTIALS["client_secret"],
        "E2E_PAX8_ID": pax8.CREDENTIALS["client_id"], "E2E_PAX8_SECRET": pax8.CREDENTIALS["client_secret"],
        "E2E_CMP_USER": ingram.CREDENTIALS["username"], "E2E_CMP_PASSWORD": ingram.CREDENTIALS["password"],
        "E2E_CMP_KEY": ingram.CREDENTIALS["subscription_key"],
    }
    env.pop("CSPBILL_DATABASE_URL", None)
    subprocess.run([CSPBILL, "init"], check=True, capture_output=True, env=env, timeout=120)
    env |= people_env(config)
    try:
        yield Month(env, urls, config, {r.name: r.server.app for r in running})
    finally:
        arm.stop()
        stop_all(running)
        dispose_engines()


def ledger_counts(month: Month) -> tuple[int, int]:
    with UnitOfWork(engine_for(load_config(str(month.config)))) as uow:
        return (uow.session.scalar(select(func.count()).select_from(Snapshot)),
                uow.session.scalar(select(func.count()).select_from(SyncRun)))


def test_a_month_of_nights(month: Month) -> None:
    for day in range(1, PAX8_DOWN):
        report = month.run_night(day)
        assert {r["source"]: r["status"] for r in report["runs"]} == {
            "partner-center": "succeeded", "azure-costs": "succeeded", "pax8": "succeeded", "ingram": "succeeded"}
    first = {r["source"]: r["counts"] for r in month.outputs[1]["runs"]}
    assert first["partner-center"]["snapshots_stored"] == first["partner-center"]["subscriptions_seen"] > 0
    assert first["azure-costs"]["usage_inserted"] > 0
    later = sum(r["counts"]["snapshots_stored"] for day in range(2, PAX8_DOWN) for r in month.outputs[day]["runs"])
    assert later > 0  # seat changes during the month became snapshots


def test_a_failing_source_is_reported_while_the_others_complete(month: Month) -> None:
    pax8 = month.apps["pax8"]
    month.fault("pax8", {"route": "*", "kind": "status", "status": 500, "times": -1})
    before = len(pax8.calls)
    try:
        report = month.run_night(PAX8_DOWN, expect_ok=False)
        night_calls = pax8.calls[before:]
    finally:
        month.fault("pax8", None)
    status = {r["source"]: r for r in report["runs"]}
    assert status["pax8"]["status"] == "failed" and "500" in status["pax8"]["error"]
    assert night_calls == [("POST", "/token")] * (PAX8_RETRIES + 1)  # its first request, tried as config says
    assert {s: r["status"] for s, r in status.items() if s != "pax8"} == {
        "partner-center": "succeeded", "azure-costs": "succeeded", "ingram": "succeeded"}


def test_a_page_cut_off_half_way_leaves_no_half_stored_run(month: Month) -> None:
    snapshots, runs = ledger_counts(month)
    month.fault("partner_center", {"route": "GET /v1/customers/[^/]+/subscriptions", "kind": "broken_page",
                                   "after": 2, "times": -1})
    try:
        report = month.run_night(PC_BROKEN, "--source", "partner-center", expect_ok=False)
    finally:
        month.fault("partner_center", None)
    (run,) = report["runs"]
    assert run["status"] == "failed" and run["counts"] == {}
    assert ledger_counts(month) == (snapshots, runs + 1)  # the failed run is recorded, nothing else
    with UnitOfWork(engine_for(load_config(str(month.config)))) as uow:
        assert uow.session.get(SyncRun, run["run_id"]).status == "failed"
    for day in (PC_BROKEN, NIGHTS):
        assert all(r["status"] == "succeeded" for r in month.run_night(day)["runs"])


def test_rerunning_the_same_night_stores_nothing_new(month: Month) -> None:
    snapshots, runs = ledger_counts(month)
    report = month.run_night(NIGHTS)
    assert [r["counts"]["snapshots_stored"] for r in report["runs"]] == [0, 0, 0, 0]
    assert [r["counts"].get("usage_inserted", 0) + r["counts"].get("usage_updated", 0) for r in report["runs"]] == [
        0, 0, 0, 0]
    assert ledger_counts(month) == (snapshots, runs + 4)


def test_quantity_on_every_day_matches_the_vendor_worlds(month: Month) -> None:
    instants = {day: night(day) for day in range(1, NIGHTS + 1)}
    truth: dict[tuple[str, str], dict[int, int]] = {}
    microsoft = scenario(SEED, MONTH)
    for customer in microsoft.customers:
        for sub in customer.subscriptions:
            truth[("partner-center", sub.id)] = {d: sub.quantity_at(t) for d, t in instants.items()
                                                 if sub.purchased_at <= t}
    distributor = pax8_world(SEED, MONTH)
    for sub in distributor.subscriptions:
        truth[("pax8", sub["id"])] = {d: distributor.seats[sub["id"]].at(t) for d, t in instants.items()}
    cmp_world = ingram_world(SEED, MONTH)
    for (sub_id, product_id), seats in cmp_world.seats.items():
        truth[("ingram", f"{sub_id}/{product_id}")] = {d: seats.at(t) for d, t in instants.items()}
    checked = 0
    with UnitOfWork(engine_for(load_config(str(month.config)))) as uow:
        for (source, external_id), by_day in truth.items():
            sub = uow.subscriptions.by_external_id(source, external_id)
            if sub is None:
                assert not by_day or source != "partner-center", f"{source} {external_id} never stored"
                continue
            for day in range(1, NIGHTS + 1):
                seen = [d for d in month.synced[source] if d <= day and d in by_day]
                answer = uow.snapshots.quantity_on(sub.id, dt.date(2026, 5, day))
                if not seen:
                    assert answer is None
                    continue
                expected = by_day[seen[-1]]  # the last complete read on or before that day is the truth
                assert answer.quantity == Decimal(expected), (source, external_id, day)
                run_start = seen[-1]
                for d in reversed(seen[:-1]):
                    if by_day[d] != expected:
                        break
                    run_start = d
                assert answer.since <= dt.date(2026, 5, run_start), (source, external_id, day)
                checked += 1
    assert checked > 1000
