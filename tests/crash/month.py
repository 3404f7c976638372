"""The month the crash suite kills its way through: a ledger seeded for nl-bv plus a Pax8 source for de-gmbh, and
the four commands of a month end run one after the other (sync, batch build, approve, export to the BC SOAP
sandbox), each stage starting from the ledger the previous uninterrupted stage left.

Why a chain of saved ledgers: every kill point of a stage starts from the same ledger and must end, after a re-run,
in exactly the state the uninterrupted stage produced (``ledger_state``), with each invoice once in the ERP and the
numbers gapless. SQLite's online backup copies a ledger whatever its write-ahead log holds.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from config import Settings
from config.loader import load_config
from ledger.models import Batch, Customer, Export, Invoice, InvoiceLine, JobRun, Snapshot, Subscription, SyncRun
from sandbox import bc_soap, pax8
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from services.operations import initialise
from services.runtime import dispose_engines, engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.crash.harness import Crasher
from tests.identity import people_env
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.export.test_export_outbox import Soap, assert_exactly_once

NOW = dt.datetime(2026, 6, 2, 7, 0, tzinfo=dt.UTC)
MONTH = "2026-04"


@dataclass(frozen=True)
class Stage:
    name: str
    argv: tuple[str, ...]
    # a re-run after a kill that came after the stage's last commit may refuse politely (approve: already approved)
    done_already: str | None = None


STAGES = (
    Stage("sync", ("sync", "--source", "pax8")),
    Stage("build", ("batch", "build", "--tenant", "nl-bv", "--month", MONTH, "--as", "finn")),
    Stage("approve", ("batch", "approve", "--tenant", "nl-bv", "--month", MONTH, "--as", "anna"),
          done_already="already approved"),
    Stage("export", ("export", "--tenant", "nl-bv", "--as", "finn")),
)


@dataclass
class Baseline:
    writes: int
    seconds: float
    state: dict[str, Any]


@dataclass
class Month:
    work: Path
    pax8_url: str
    crasher: Crasher = field(init=False)
    baselines: dict[str, Baseline] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
        env.update(CSPBILL_CONFIG=str(self.config), CSPBILL_NOW=NOW.isoformat(),
                   T_PAX8_ID=pax8.CREDENTIALS["client_id"], T_PAX8_KEY=pax8.CREDENTIALS["client_secret"],
                   T_SOAP_USER=bc_soap.CREDENTIALS["username"], T_SOAP_KEY=bc_soap.CREDENTIALS["password"])
        self.crasher = Crasher(env, self.work)

    @property
    def config(self) -> Path:
        return self.work / "config.yaml"

    @property
    def ledger(self) -> Path:
        return self.work / "ledger.db"

    def settings(self) -> Settings:
        return load_config(str(self.config))

    def write_config(self, soap_url: str = "http://127.0.0.1:9/unused") -> None:
        data = demo_config_data()
        data["database"] = {"url": f"sqlite:///{self.ledger}", "url_env": None}
        data["sources"] = [{"name": "pax8", "kind": "pax8", "tenant": "de-gmbh", "base_url": self.pax8_url,
                            "token_url": f"{self.pax8_url}/token", "client_id_env": "T_PAX8_ID",
                            "client_secret_env": "T_PAX8_KEY"}]
        for tenant in data["tenants"]:
            tenant["erp"] = {"kind": "none"}
        data["tenants"][0]["erp"] = {"kind": "bc_soap", "base_url": soap_url, "company": bc_soap.COMPANY,
                                     "username_env": "T_SOAP_USER", "password_env": "T_SOAP_KEY"}
        self.config.write_text(yaml.safe_dump(data), encoding="utf-8")

    def save(self, name: str) -> None:
        dispose_engines()
        _backup(self.ledger, self.work / f"{name}.db")

    def restore(self, name: str) -> None:
        dispose_engines()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.ledger}{suffix}").unlink(missing_ok=True)
        _backup(self.work / f"{name}.db", self.ledger)

    @contextmanager
    def erp(self) -> Iterator[Soap]:
        """A fresh BC SOAP sandbox, with the config pointing nl-bv's export at it."""
        app = bc_soap.build(SandboxClock(), seed=1)
        server = SandboxServer(app, prefix=bc_soap.PREFIX).start()
        soap = Soap(app, server)
        self.write_config(soap.service_url)
        try:
            yield soap
        finally:
            server.stop()


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def seed(month: Month) -> None:
    """init through the CLI, then three nl-bv customers with monthly licences since 2026-03-10 (10, 11, 12 seats),
    known to the SOAP sandbox as C00001..C00003."""
    month.write_config()
    init = month.crasher.run("init")
    assert init.returncode == 0, init.stderr
    settings = month.settings()
    initialise(settings)
    month.crasher.env.update(people_env(month.config))  # the people the stages act as, signed in before "seed"
    for n in range(3):
        customer = add_customer(settings, "nl-bv", f"Customer {n}")
        sub = add_subscription(settings, "nl-bv", customer, f"sub-{n}", "2026-03-10")
        snapshot(settings, sub, "2026-03-10", 10 + n)
        with UnitOfWork(engine_for(settings), write=True) as uow:
            uow.session.get(Customer, customer).reference = f"C{n + 1:05d}"
    month.save("seed")


def ledger_state(settings: Settings) -> dict[str, Any]:
    """What must be the same after any kill and re-run as after an uninterrupted run (natural keys, not row ids;
    run records and the audit trail legitimately differ)."""
    with UnitOfWork(engine_for(settings)) as uow:
        s = uow.session
        names = {c.id: (c.tenant_id, c.name, c.reference) for c in s.scalars(select(Customer))}
        subs = {sub.id: sub.external_id for sub in s.scalars(select(Subscription))}
        state = {
            "customers": sorted(names.values(), key=repr),
            "subscriptions": sorted(subs.values()),
            "snapshots": sorted((subs[x.subscription_id], str(x.quantity), x.observed_on.isoformat(), x.status)
                                for x in s.scalars(select(Snapshot))),
            "batches": sorted((b.tenant_id, b.month, b.status, repr(b.totals)) for b in s.scalars(select(Batch))),
            "invoices": sorted((i.number or "", names[i.customer_id], str(i.net), str(i.vat), str(i.gross), i.status)
                               for i in s.scalars(select(Invoice))),
            "lines": sorted((ln.line_key, str(ln.amount)) for ln in s.scalars(select(InvoiceLine))),
            "exports": sorted((e.external_ref, e.status) for e in s.scalars(select(Export))),
        }
    dispose_engines()
    return state


def unfinished_runs(settings: Settings) -> list[tuple[str, int, str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        runs = [("sync", r.id, r.status) for r in uow.session.scalars(select(SyncRun))]
        runs += [("job", r.id, r.outcome) for r in uow.session.scalars(select(JobRun))]
    dispose_engines()
    return [run for run in runs if run[2] == "running"]


def assert_gapless(state: dict[str, Any]) -> None:
    """nl-bv's numbers (NL2026-00001 ...) run from the first of the range without a hole or a repeat."""
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number, *_ in state["invoices"] if number)
    assert sequence == list(range(1, len(sequence) + 1)), sequence


def assert_erp_once(soap: Soap, settings: Settings, state: dict[str, Any]) -> None:
    """Every exported invoice is in the ERP exactly once with our lines and totals, and nothing else is."""
    numbers = [number for number, *_ in state["invoices"] if number]
    assert_exactly_once(soap, settings, numbers)
    erp = soap.state()
    assert len(erp["invoices"]) + len(erp["posted"]) == len(numbers)
    dispose_engines()


Kill = Callable[[Crasher, tuple[str, ...]], Any]


def run_chain(month: Month) -> None:
    """The uninterrupted month: each stage counted (its kill points), timed and its resulting ledger saved."""
    import time

    previous = "seed"
    for stage in STAGES:
        month.restore(previous)
        with month.erp() if stage.name == "export" else _nothing() as soap:
            started = time.monotonic()
            done, writes = month.crasher.writes(*stage.argv)
            assert done.returncode == 0, (stage.name, done.stdout[-2000:], done.stderr[-2000:])
            state = ledger_state(month.settings())
            if soap is not None:
                assert_erp_once(soap, month.settings(), state)
        month.baselines[stage.name] = Baseline(writes, time.monotonic() - started, state)
        month.save(stage.name)
        previous = stage.name


def crash_and_recover(month: Month, stage: Stage, kill: Kill) -> subprocess.CompletedProcess[str]:
    """From the ledger before ``stage``: ``kill`` the command once, run it again, and check the month is whole."""
    before = STAGES[STAGES.index(stage) - 1].name if STAGES.index(stage) else "seed"
    month.restore(before)
    with month.erp() if stage.name == "export" else _nothing() as soap:
        kill(month.crasher, stage.argv)
        rerun = month.crasher.run(*stage.argv)
        refused = stage.done_already is not None and stage.done_already in rerun.stderr
        assert rerun.returncode == 0 or refused, (month.crasher.log[-2:], rerun.stdout[-2000:], rerun.stderr[-2000:])
        settings = month.settings()
        state = ledger_state(settings)
        assert state == month.baselines[stage.name].state, month.crasher.log[-2:]
        assert_gapless(state)
        if soap is not None:
            assert_erp_once(soap, settings, state)
        if stage.name == "sync":  # the killed run was closed by the re-run, not left "running"
            assert unfinished_runs(settings) == []
    return rerun


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
