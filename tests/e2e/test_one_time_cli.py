"""One-time purchases end to end through the real ``cspbill`` console script: ``cspbill sync`` reads the Partner
Center sandbox (software bought on the 5th with one unit refunded on the 7th, a reservation on the 12th, as one-time
recon line items) and the Pax8 sandbox (a One-Time subscription bought on the 6th, another bought on the 8th and
cancelled the next day); ``cspbill batch build`` then bills every purchase once, in May, and each refund once as a
credit naming the purchase it credits. Re-syncing the same night and rebuilding adds nothing."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import select

from config.loader import load_config
from ledger.models import InvoiceLine
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.e2e.test_batch_month import CLI, NOW
from tests.e2e.test_sync_month import Month, month  # noqa: F401 - the sandboxes-and-nightly-sync fixture, reused

pytestmark = pytest.mark.slow


def build(month: Month, tenant: str, builder: str) -> dict:  # noqa: F811 - the fixture's type
    done = subprocess.run([CLI, "batch", "build", "--tenant", tenant, "--month", "2026-05", "--as", builder, "--json"],
                          env={**month.env, "CSPBILL_NOW": NOW}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def one_time(month: Month) -> list[InvoiceLine]:  # noqa: F811
    with UnitOfWork(engine_for(load_config(str(month.config)))) as uow:
        return [line for line in uow.session.scalars(select(InvoiceLine).order_by(InvoiceLine.line_key))
                if "/one_time" in line.base_key]


def test_one_time_purchases_and_refunds_are_billed_once(month: Month) -> None:  # noqa: F811
    for day in (1, 15, 31):
        assert all(run["status"] == "succeeded" for run in month.run_night(day)["runs"])
    rates = subprocess.run([CLI, "fx", "sync"], env={**month.env, "CSPBILL_NOW": NOW}, capture_output=True,
                           text=True, timeout=300)
    assert rates.returncode == 0, rates.stderr[-2000:]  # the Pax8 world also bills one offer in USD
    reports = {tenant: build(month, tenant, builder) for tenant, builder in (("nl-bv", "finn"), ("de-gmbh", "greta"))}
    assert all(report["problems"] == [] for report in reports.values())
    lines = one_time(month)
    by_name = sorted((line.description.split(" (")[0], line.kind, line.amount) for line in lines)
    assert by_name == sorted([
        ("Example Server 2025 Standard - 16 Core License Pack", "charge", Decimal("3588.00")),  # 4 × 780.00 + 15 %
        ("Credit: Example Server 2025 Standard - 16 Core License Pack", "credit", Decimal("-897.00")),  # 1 of 4
        ("Example Reserved VM Instance, D2s v5, West Europe, 1 Year", "charge", Decimal("703.80")),
        ("Windows 11 Pro Upgrade", "charge", Decimal("300.90")),  # Pax8: 3 × 85.00 + 18 %
        ("Windows 11 Pro Upgrade", "charge", Decimal("100.30")),  # bought on the 8th ...
        ("Credit: Windows 11 Pro Upgrade", "credit", Decimal("-100.30")),  # ... cancelled on the 9th
    ])
    assert len({line.base_key for line in lines}) == len(lines) == 6
    assert {line.bill_month for line in lines} == {"2026-05"}
    keys = {line.line_key for line in lines}
    for refund in (line for line in lines if line.kind == "credit"):
        assert refund.corrects_line_key in keys
        assert refund.lineage["details"]["credits"] == refund.corrects_line_key.rsplit("/", 1)[0]

    month.run_night(31)  # the same night read again: the same cost lines and snapshots
    again = {tenant: build(month, tenant, builder) for tenant, builder in (("nl-bv", "finn"), ("de-gmbh", "greta"))}
    assert all((r["added"], r["changed"], r["removed"]) == (0, 0, 0) for r in again.values())
    assert [(line.line_key, line.amount) for line in one_time(month)] == [(line.line_key, line.amount)
                                                                           for line in lines]

