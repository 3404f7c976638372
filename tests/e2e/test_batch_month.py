"""A month end through the real ``cspbill`` console script, on SQLite and PostgreSQL: build twice, review, four-eyes
refusals, approval, a late seat change for an exported month, lineage, the audit trail, and two approvals running
in parallel processes that must hand out gapless numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from config.loader import load_config
from ledger.models import Batch, Invoice
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import ROOT
from tests.e2e.test_sync_month import Month, month  # noqa: F401 - the sandboxes-and-nightly-sync fixture, reused
from tests.identity import people_env
from tests.services.batches.test_batch_support import add_customer, add_subscription, mark_exported, mutation, snapshot

CLI = str(Path(sys.executable).with_name("cspbill"))
NOW = "2026-06-02T07:00:00Z"


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database"] = {"url": settings.database_url(), "url_env": None}
    path = tmp_path / "cli-config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def environment(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    env.update(CSPBILL_CONFIG=str(config), CSPBILL_NOW=NOW, **people_env(config))
    return env


def cspbill(config: Path, *args: str, ok: bool = True, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``cspbill ARGS`` as a signed-in person, in this process (``tests.cli``) or, with ``process``, through the
    real console script."""
    if process:
        result = subprocess.run([CLI, *args], env=environment(config), capture_output=True, text=True, timeout=120)
    else:
        result = run_cli(args, env=environment(config))
    assert (result.returncode == 0) == ok, (args, result.stdout, result.stderr)
    return result


def as_json(config: Path, *args: str) -> dict | list:
    return json.loads(cspbill(config, *args, "--json").stdout)


def seed(settings: Settings, customers: int = 3) -> list[tuple[int, int]]:
    """Customers with monthly licences since 2026-03-10 (10 + n seats)."""
    initialise(settings)
    made = []
    for n in range(customers):
        customer = add_customer(settings, "nl-bv", f"Customer {n}")
        sub = add_subscription(settings, "nl-bv", customer, f"sub-{n}", "2026-03-10")
        snapshot(settings, sub, "2026-03-10", 10 + n)
        made.append((customer, sub))
    return made


@pytest.mark.slow
def test_a_month_end_through_the_cli(settings: Settings, config_file: Path) -> None:
    made = seed(settings)
    first = as_json(config_file, "batch", "build", "--tenant", "nl-bv", "--month", "2026-04", "--as", "finn")
    second = as_json(config_file, "batch", "build", "--tenant", "nl-bv", "--month", "2026-04", "--as", "finn")
    assert (first["created"], second["created"], second["added"], second["changed"], second["removed"]) == (
        True, False, 0, 0, 0)
    assert first["totals"] == second["totals"] and first["invoices"] == 3

    shown = as_json(config_file, "batch", "show", "--tenant", "nl-bv", "--month", "2026-04", "--as", "finn")
    net = sum(Decimal(c["net"]) for c in shown["customers"])
    assert Decimal(shown["batch"]["totals"]["EUR"]["net"]) == net == Decimal("1138.50")  # (10+11+12) × 34.50

    refused = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "dana",
                      ok=False)
    assert "lacks role 'approver'" in refused.stderr and refused.stderr.count("\n") == 1
    approved = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-04", "--as", "anna")
    assert "numbered NL2026-00001..NL2026-00003" in approved.stdout
    mark_exported(settings, "nl-bv", "2026-04")

    customer, sub = made[0]
    mutation(settings, "nl-bv", customer, sub, "increase", "2026-04-20", new_quantity=12)
    snapshot(settings, sub, "2026-05-02", 12)  # seen late: April is already exported
    cspbill(config_file, "batch", "build", "--tenant", "nl-bv", "--month", "2026-05", "--as", "anna")
    own = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-05", "--as", "anna",
                  ok=False)
    assert "four-eyes" in own.stderr
    may = as_json(config_file, "batch", "show", "--tenant", "nl-bv", "--month", "2026-05", "--as", "finn")
    assert may["diff"]["previous_month"] == "2026-04"
    changed = {c["name"]: c for c in may["diff"]["customers"]}
    assert changed["Customer 0"]["status"] == "changed"
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-05")
        invoice = uow.session.scalars(select(Invoice).where(Invoice.batch_id == batch.id,
                                                            Invoice.customer_id == customer)).one()
        corrections = [line.line_key for line in invoice.lines if line.kind == "correction"]
    assert corrections
    explained = as_json(config_file, "batch", "explain", corrections[0], "--as", "finn")
    assert explained["reason_code"] == "late_snapshot"
    assert explained["corrects_line_key"].endswith("/2026-04-10..2026-05-09/charge/v1")
    assert explained["lineage"]["formula"] and explained["lineage"]["rounding"] == "half_up"
    text = cspbill(config_file, "batch", "explain", corrections[0], "--as", "finn").stdout
    assert "formula" in text and "late_snapshot" in text

    approved = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-05", "--as", "ada")
    assert "NL2026-00004..NL2026-00006" in approved.stdout
    events = as_json(config_file, "audit", "--tenant", "nl-bv", "--as", "finn")
    assert [(e["actor"], e["action"]) for e in events] == [
        ("ada", "batch.approve"), ("anna", "batch.build"), ("anna", "batch.approve"), ("finn", "batch.rebuild"),
        ("finn", "batch.build")]
    assert events[0]["after"]["first_number"] == "NL2026-00004"
    assert as_json(config_file, "audit", "--tenant", "de-gmbh", "--as", "greta") == []
    hidden = cspbill(config_file, "audit", "--tenant", "nl-bv", "--as", "greta", ok=False)
    assert "not found" in hidden.stderr


@pytest.mark.slow
def test_parallel_cli_approvals_hand_out_gapless_numbers(settings: Settings, config_file: Path) -> None:
    seed(settings, customers=8)
    for billing_month in ("2026-04", "2026-05"):
        cspbill(config_file, "batch", "build", "--tenant", "nl-bv", "--month", billing_month, "--as", "finn")
    procs = [subprocess.Popen([CLI, "batch", "approve", "--tenant", "nl-bv", "--month", billing_month, "--as", "anna"],
                              env=environment(config_file), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for billing_month in ("2026-04", "2026-05")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    may_error = outputs[1][1]
    assert procs[0].returncode == 0, outputs
    if procs[1].returncode:  # May raced April's approval: refused until April is approved (month order)
        assert "the earlier batch 2026-04 is still a draft" in may_error, outputs
        cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", "2026-05", "--as", "anna")
    with UnitOfWork(engine_for(settings)) as uow:
        numbered = sorted(uow.session.execute(select(Invoice.number, Batch.month).join(Batch)).tuples())
    assert [number for number, _ in numbered] == [f"NL2026-{n:05d}" for n in range(1, 17)]
    assert [billed for _, billed in numbered] == ["2026-04"] * 8 + ["2026-05"] * 8  # numbers follow the months


@pytest.mark.slow
def test_a_batch_over_sandbox_data_synced_by_cspbill_sync(month: Month) -> None:  # noqa: F811 - the fixture
    """Three nights of the vendor sandboxes synced by `cspbill sync`, then May's batches of both legal entities."""
    for day in (1, 15, 31):
        assert all(run["status"] == "succeeded" for run in month.run_night(day)["runs"])
    env = {**month.env, "CSPBILL_NOW": NOW}
    rates = subprocess.run([CLI, "fx", "sync"], env=env, capture_output=True, text=True, timeout=300)
    assert rates.returncode == 0, rates.stderr[-2000:]  # the Pax8 world bills one offer in USD
    for tenant, builder in (("nl-bv", "finn"), ("de-gmbh", "greta")):
        runs = [subprocess.run([CLI, "batch", "build", "--tenant", tenant, "--month", "2026-05", "--as", builder,
                                "--json"], env=env, capture_output=True, text=True, timeout=300) for _ in range(2)]
        assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
        first, second = (json.loads(r.stdout) for r in runs)
        assert first["invoices"] > 0 and first["lines"] >= first["invoices"]
        assert first["problems"] == []  # every licence priced (Partner Center's from its recon cost lines)
        assert list(first["totals"]) == ["EUR"]  # the USD offer converted onto its customer's EUR invoice
        assert (second["added"], second["changed"], second["removed"]) == (0, 0, 0)
        assert second["totals"] == first["totals"]
    with UnitOfWork(engine_for(load_config(str(month.config)))) as uow:
        found = uow.session.scalars(select(Invoice)).all()
        for invoice in found:
            assert invoice.net == sum(line.amount for line in invoice.lines)
            assert all(line.lineage.get("formula") and line.lineage.get("rounding") for line in invoice.lines)
        assert {invoice.tenant_id for invoice in found} == {t.id for t in uow.tenants.all()}
