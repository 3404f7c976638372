"""Provisioning at the vendor through the service, against the Entra and Partner Center sandboxes over HTTPS.

A desk mutation of a subscription of a source with ``provisioning: true`` is queued, sent once with the request id
derived from the mutation (``MS-RequestId``), refused with Partner Center's code and sentence when the vendor refuses,
confirmed by the next sync; upgrades are checked against ``transitioneligibilities`` and sent as a transition.
Nothing is mocked: the production connectors talk to the sandboxes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from config import Settings
from config.loader import parse_settings
from ledger.models import Snapshot
from sandbox import entra, partner_center
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import scenario
from sandbox.scenario_microsoft.subscriptions import PRODUCTS
from sandbox.tls import TlsFiles, make_tls_files
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, cancel_mutation, list_mutations, provision, show_mutation
from services.desk.provisioning import request_id_for
from services.errors import ValidationFailed
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, nightly, people_env

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
SEED = 7
WORLD = scenario(SEED, NOW.date().replace(day=1))
SOURCE = "partner-center"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def servers(tls: TlsFiles) -> Iterator[tuple[SandboxServer, SandboxServer, Clock]]:
    clock = Clock(NOW)
    with SandboxServer(entra.build(clock, seed=SEED), tls=tls, prefix=entra.PREFIX) as idp, \
            SandboxServer(partner_center.build(clock, seed=SEED), tls=tls, prefix=partner_center.PREFIX) as pc:
        yield idp, pc, clock


def pc_settings(tmp_path: Path, tls: TlsFiles, idp: SandboxServer, pc: SandboxServer, provisioning: bool,
                monkeypatch: pytest.MonkeyPatch) -> Settings:
    data = demo_config_data()
    data["database"] = {"url": f"sqlite:///{tmp_path / 'ledger.db'}", "url_env": None}
    data["fx"] = None
    data["sources"] = [{
        "name": SOURCE, "kind": "partner_center", "tenant": "nl-bv", "base_url": f"{pc.url}/pc",
        "graph_base_url": f"{pc.url}/graph/v1.0", "authority_url": f"{idp.url}/{entra.CREDENTIALS['tenant_id']}",
        "client_id_env": "T_PC_ID", "client_secret_env": "T_PC_SECRET", "ca_bundle": str(tls.ca_cert),
        "provisioning": provisioning,
    }]
    monkeypatch.setenv("T_PC_ID", entra.CREDENTIALS["client_id"])
    monkeypatch.setenv("T_PC_SECRET", entra.CREDENTIALS["client_secret"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return parse_settings(data, tmp_path / "config.yaml")


@pytest.fixture
def ledger(tmp_path: Path, tls: TlsFiles, servers, monkeypatch: pytest.MonkeyPatch) -> Settings:
    idp, pc, _ = servers
    settings = pc_settings(tmp_path, tls, idp, pc, True, monkeypatch)
    initialise(settings)
    report = sync(settings, FixedClock(NOW), who=nightly(settings), source=SOURCE)
    assert not report.failed, [r.error for r in report.runs]
    return settings


def ledger_sub(settings: Settings, vendor_id: str) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.subscriptions.by_external_id(SOURCE, vendor_id).id


def pick(window_open: bool | None = None, cheapest: bool = False):
    """A purchased, active subscription of the scenario (an open or closed 168-hour window, or the cheapest product)."""
    for customer in WORLD.customers:
        for sub in customer.subscriptions:
            if sub.purchased_at > NOW or sub.status_at(NOW) != "active" or sub.quantity_at(NOW) < 2:
                continue
            if cheapest and sub.product != min(PRODUCTS, key=lambda p: p[4]):
                continue
            if window_open is not None and bool(sub.batches_at(NOW)) != window_open:
                continue
            return sub
    raise AssertionError("no such subscription in the scenario")


def patches(pc: SandboxServer) -> list:
    return [r for r in pc.app.received if r.method == "PATCH"]


def test_increase_is_sent_once_and_confirmed_by_the_next_sync(ledger: Settings, servers) -> None:
    _, pc, sandbox_clock = servers
    sub = pick(window_open=False)
    dana = actor(ledger, "dana")
    saved = add_mutation(ledger, dana, MutationRequest(ledger_sub(ledger, sub.id), NOW.date(), "T-100",
                                                       delta=Decimal(3)), FixedClock(NOW))
    assert (saved.status, saved.vendor_status) == ("open", "queued")

    first = provision(ledger, dana, FixedClock(NOW))
    assert [(m, status) for m, status, _ in first.outcomes] == [(saved.id, "applied")]
    assert [r.headers["ms-requestid"] for r in patches(pc)] == [request_id_for(saved.id)]
    assert provision(ledger, dana, FixedClock(NOW)).outcomes == [] and len(patches(pc)) == 1

    tomorrow = NOW + dt.timedelta(days=1)
    sandbox_clock.set(tomorrow)
    sync(ledger, FixedClock(tomorrow), who=nightly(ledger), source=SOURCE)
    assert provision(ledger, nightly(ledger), FixedClock(tomorrow)).confirmed == 1
    shown = show_mutation(ledger, dana, saved.id)
    assert (shown.status, shown.vendor_status) == ("provisioned", "confirmed")


def test_confirmed_by_the_snapshot_that_showed_it_even_after_a_later_change(ledger: Settings, servers) -> None:
    """The night after the increase the vendor shows it; by the next run of the outbox the customer changed the seats
    again in the portal. The applied increase is confirmed by the snapshot that showed it, not left unconfirmed
    because the latest snapshot shows another count (it blocked the month's approval as "not confirmed")."""
    _, _, sandbox_clock = servers
    sub = pick(window_open=False)
    dana = actor(ledger, "dana")
    subscription = ledger_sub(ledger, sub.id)
    saved = add_mutation(ledger, dana, MutationRequest(subscription, NOW.date(), "T-101", delta=Decimal(3)),
                         FixedClock(NOW))
    provision(ledger, dana, FixedClock(NOW))
    tomorrow = NOW + dt.timedelta(days=1)
    sandbox_clock.set(tomorrow)
    sync(ledger, FixedClock(tomorrow), who=nightly(ledger), source=SOURCE)
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        shown = uow.snapshots.latest(subscription)
        assert shown.quantity == sub.quantity_at(NOW) + 3
        later = tomorrow + dt.timedelta(days=1)
        uow.snapshots.add(Snapshot(  # the next night's sync: the customer's own change in the vendor's portal
            subscription_id=subscription, observed_at=later, observed_on=later.date(), quantity=shown.quantity + 2,
            status=shown.status, product_id=shown.product_id, unit_cost=shown.unit_cost, currency=shown.currency,
            raw={"portal": True}, raw_hash="portal"))
    assert provision(ledger, nightly(ledger), FixedClock(later)).confirmed == 1
    assert show_mutation(ledger, dana, saved.id).vendor_status == "confirmed"


def test_vendor_refusal_is_stored_with_its_reason_and_shown(ledger: Settings, servers) -> None:
    _, pc, _ = servers
    sub = pick(window_open=False)
    dana = actor(ledger, "dana")
    saved = add_mutation(ledger, dana, MutationRequest(ledger_sub(ledger, sub.id), NOW.date(), "T-101",
                                                       new_quantity=Decimal(400)), FixedClock(NOW))
    outcome = provision(ledger, dana, FixedClock(NOW)).outcomes
    assert [(m, status) for m, status, _ in outcome] == [(saved.id, "refused")] and "900275" in outcome[0][2]
    listed = next(m for m in list_mutations(ledger, dana) if m.id == saved.id)
    assert listed.status == "refused" and listed.vendor_status == "refused"
    assert listed.vendor_reason == "900275: The quantity is outside the offer's allowed range (1-300)."
    assert provision(ledger, dana, FixedClock(NOW)).outcomes == [] and len(patches(pc)) == 1


def test_a_queued_mutation_can_be_withdrawn_a_sent_one_cannot(ledger: Settings, servers) -> None:
    _, pc, _ = servers
    sub = pick(window_open=False)
    dana = actor(ledger, "dana")
    queued = add_mutation(ledger, dana, MutationRequest(ledger_sub(ledger, sub.id), NOW.date(), "T-102",
                                                        delta=Decimal(1)), FixedClock(NOW))
    assert cancel_mutation(ledger, dana, queued.id, FixedClock(NOW)).vendor_status == "withdrawn"
    sent = add_mutation(ledger, dana, MutationRequest(ledger_sub(ledger, sub.id), NOW.date(), "T-103",
                                                      delta=Decimal(1)), FixedClock(NOW))
    provision(ledger, dana, FixedClock(NOW))
    assert [r.headers["ms-requestid"] for r in patches(pc)] == [request_id_for(sent.id)]
    with pytest.raises(ValidationFailed, match="already sent to partner-center"):
        cancel_mutation(ledger, dana, sent.id, FixedClock(NOW))


def test_upgrade_checked_against_transition_eligibilities_then_transitioned(ledger: Settings, servers) -> None:
    _, pc, _ = servers
    sub = pick(cheapest=True)
    dana = actor(ledger, "dana")
    subscription = ledger_sub(ledger, sub.id)
    with pytest.raises(ValidationFailed, match="not a transition target"):
        add_mutation(ledger, dana, MutationRequest(subscription, NOW.date(), "T-104", target_product="Nonsense 365"),
                     FixedClock(NOW))
    dearest = max(PRODUCTS, key=lambda p: p[4])
    saved = add_mutation(ledger, dana, MutationRequest(subscription, NOW.date(), "T-105", target_product=dearest[3]),
                         FixedClock(NOW))
    assert saved.target_product == f"{dearest[0]}:{dearest[1]}:{dearest[2]}" and saved.vendor_status == "queued"
    outcome = provision(ledger, dana, FixedClock(NOW)).outcomes
    assert [(m, status) for m, status, _ in outcome] == [(saved.id, "applied")]
    posts = [r for r in pc.app.received if r.method == "POST" and r.path.endswith("/transitions")]
    assert [r.headers["ms-requestid"] for r in posts] == [request_id_for(saved.id)]


def test_upgrade_to_a_lower_offer_is_refused_with_the_vendors_reason(ledger: Settings) -> None:
    dearest = max(PRODUCTS, key=lambda p: p[4])
    sub = next(s for c in WORLD.customers for s in c.subscriptions
               if s.product == dearest and s.purchased_at <= NOW and s.status_at(NOW) == "active")
    cheapest = min(PRODUCTS, key=lambda p: p[4])
    with pytest.raises(ValidationFailed, match=r"refused by partner-center: .*not an upgrade"):
        add_mutation(ledger, actor(ledger, "dana"), MutationRequest(ledger_sub(ledger, sub.id), NOW.date(), "T-106",
                                                                     target_product=cheapest[3]), FixedClock(NOW))


def test_without_the_opt_in_nothing_is_queued_or_sent(tmp_path: Path, tls: TlsFiles, servers,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    idp, pc, _ = servers
    settings = pc_settings(tmp_path, tls, idp, pc, False, monkeypatch)
    initialise(settings)
    sync(settings, FixedClock(NOW), who=nightly(settings), source=SOURCE)
    dana = actor(settings, "dana")
    saved = add_mutation(settings, dana, MutationRequest(ledger_sub(settings, pick(window_open=False).id), NOW.date(),
                                                         "T-107", delta=Decimal(1)), FixedClock(NOW))
    assert saved.vendor_status is None
    assert provision(settings, dana, FixedClock(NOW)).outcomes == [] and patches(pc) == []


def test_the_desk_reaches_it_through_the_cli(ledger: Settings, tmp_path: Path) -> None:
    """`cspbill mutation add`, `cspbill provision run`, `cspbill mutation show` and `mutation list` as a person."""
    config = tmp_path / "config.yaml"
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": NOW.isoformat(), "COLUMNS": "400", **people_env(config)}

    def run(*argv: str) -> str:
        done = run_cli(argv, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    subscription = ledger_sub(ledger, pick(window_open=False).id)
    added = json.loads(run("mutation", "add", "-s", str(subscription), "-t", "T-200", "-q", "500", "--as", "dana",
                           "--json"))
    assert added["vendor_status"] == "queued"
    sent = json.loads(run("provision", "run", "--as", "dana", "--json"))
    assert [(m["mutation"], m["status"]) for m in sent["mutations"]] == [(added["id"], "refused")]
    shown = json.loads(run("mutation", "show", str(added["id"]), "--as", "dana", "--json"))
    assert (shown["status"], shown["vendor_status"]) == ("refused", "refused") and "900275" in shown["vendor_reason"]
    assert "refused: 900275: The quantity is outside" in run("mutation", "list", "--status", "refused", "--as", "dana")
