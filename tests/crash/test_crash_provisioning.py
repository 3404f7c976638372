"""The crash suite for provisioning at the vendor: `cspbill provision run` SIGKILLed at every ledger write, then run
again; every time the mutation must be applied at the Partner Center sandbox exactly once.

The kill that matters most falls between the vendor's write and our record of it: Partner Center has changed the
seats, the ledger still says ``sending`` under a run that is gone. The run after it must look at the vendor first
(the seats are there) and record the change without a second PATCH. Each kill point gets its own mutation (on its
own subscription) in one ledger, so what the sandbox received can be counted per request id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from config.loader import load_config
from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from connectors.partner_center import SCOPE
from connectors.partner_center_writes import PartnerCenterWrites
from sandbox import entra, partner_center
from sandbox.core import Clock, SandboxServer
from sandbox.scenario_microsoft import scenario
from sandbox.tls import make_tls_files
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, show_mutation
from services.desk.provisioning import request_id_for
from services.operations import initialise
from services.runtime import dispose_engines, engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.crash.harness import Crasher
from tests.identity import actor, nightly, people_env

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
SEED = 7
SOURCE = "partner-center"
RUN = ("provision", "run", "--as", "dana", "--json")


@dataclass
class Setup:
    config: Path
    pc: SandboxServer
    crasher: Crasher
    candidates: list[tuple[str, str, int]]  # (customer, subscription, seats) with a closed window: increases only
    vendor: PartnerCenterWrites  # reads what Partner Center now holds


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("crash-provisioning")
    tls = make_tls_files(work / "tls")
    clock = Clock(NOW)
    with SandboxServer(entra.build(clock, seed=SEED), tls=tls, prefix=entra.PREFIX) as idp, \
            SandboxServer(partner_center.build(clock, seed=SEED), tls=tls, prefix=partner_center.PREFIX) as pc:
        data = demo_config_data()
        data["database"] = {"url": f"sqlite:///{work / 'ledger.db'}", "url_env": None}
        data["fx"] = None
        data["sources"] = [{
            "name": SOURCE, "kind": "partner_center", "tenant": "nl-bv", "base_url": f"{pc.url}/pc",
            "graph_base_url": f"{pc.url}/graph/v1.0",
            "authority_url": f"{idp.url}/{entra.CREDENTIALS['tenant_id']}", "client_id_env": "T_PC_ID",
            "client_secret_env": "T_PC_SECRET", "ca_bundle": str(tls.ca_cert), "provisioning": True,
        }]
        config = work / "config.yaml"
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        secrets = {"T_PC_ID": entra.CREDENTIALS["client_id"], "T_PC_SECRET": entra.CREDENTIALS["client_secret"]}
        os.environ.update(secrets)
        settings = load_config(config)
        initialise(settings)
        assert not sync(settings, FixedClock(NOW), who=nightly(settings), source=SOURCE).failed
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
        env.update(secrets, CSPBILL_CONFIG=str(config), CSPBILL_NOW=NOW.isoformat(), **people_env(config))
        world = scenario(SEED, NOW.date().replace(day=1))
        candidates = [(c.id, s.id, s.quantity_at(NOW)) for c in world.customers for s in c.subscriptions
                      if s.purchased_at <= NOW and s.status_at(NOW) == "active" and not s.batches_at(NOW)
                      and s.quantity_at(NOW) < 290]
        policy = HttpPolicy(verify=str(tls.ca_cert))
        tokens = TokenProvider("test", f"{idp.url}/{entra.CREDENTIALS['tenant_id']}", entra.CREDENTIALS["client_id"],
                               entra.CREDENTIALS["client_secret"], SCOPE, policy=policy)
        vendor = PartnerCenterWrites(f"{pc.url}/pc", tokens, account_id="p", currency="EUR", policy=policy)
        yield Setup(config, pc, Crasher(env, work), candidates, vendor)
        dispose_engines()


def queue(setup: Setup, vendor_id: str, seats: int, ticket: str) -> int:
    settings = load_config(setup.config)
    with UnitOfWork(engine_for(settings)) as uow:
        subscription = uow.subscriptions.by_external_id(SOURCE, vendor_id).id
    saved = add_mutation(settings, actor(settings, "dana"), MutationRequest(
        subscription, NOW.date(), ticket, new_quantity=Decimal(seats + 2)), FixedClock(NOW))
    assert saved.vendor_status == "queued"
    return saved.id


def writes_for(setup: Setup, request_id: str) -> int:
    return sum(1 for r in setup.pc.app.received if r.method == "PATCH" and r.headers.get("ms-requestid") == request_id)


def test_killed_at_every_write_and_run_again_applies_each_mutation_once(setup: Setup) -> None:
    for number, (_, vendor_id, seats) in enumerate(setup.candidates[:2]):  # the first run also signs in: count the 2nd
        baseline_id = queue(setup, vendor_id, seats, f"CRASH-0{number}")
        done, writes = setup.crasher.writes(*RUN)
        assert done.returncode == 0, done.stderr[-2000:]
        assert [m["status"] for m in json.loads(done.stdout)["mutations"]] == ["applied"]
        assert writes > 1 and writes_for(setup, request_id_for(baseline_id)) == 1
    between = 0  # kills that fell after Partner Center's write and before our record of it
    for n, (customer, vendor_id, seats) in zip(range(1, writes + 1), setup.candidates[2:], strict=False):
        mutation = queue(setup, vendor_id, seats, f"CRASH-{n}")
        request = request_id_for(mutation)
        setup.crasher.kill_at_write(n, *RUN)
        settings = load_config(setup.config)
        killed_after_the_vendor = writes_for(setup, request) == 1
        if killed_after_the_vendor and show_mutation(settings, actor(settings, "dana"), mutation).vendor_status \
                == "sending":
            between += 1
        again = setup.crasher.run(*RUN)
        assert again.returncode == 0, again.stderr[-2000:]
        shown = show_mutation(settings, actor(settings, "dana"), mutation)
        assert shown.vendor_status == "applied", (n, shown)
        assert writes_for(setup, request) == 1, f"kill at write {n}: PATCHed {writes_for(setup, request)} times"
        assert setup.vendor.subscription(customer, vendor_id).quantity == seats + 2
    assert between >= 1, "no kill fell between the vendor's write and the ledger's record"
