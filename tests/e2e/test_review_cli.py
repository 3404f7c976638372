"""Review findings through the real console script: `batch findings TENANT MONTH` lists them with ids, `batch
approve` refuses naming them, `batch acknowledge … --reason` records each (a missing reason or a hard block exits
non-zero and stores nothing), `batch show` includes them, and a second person approves; `batch show --rows N` lists
the largest changes from the figures the build stored."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update

from config import Settings
from ledger.models import BatchChange
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - the CLI config fixture, reused
from tests.services.batches.test_prepared_review import _book
from tests.services.batches.test_review_findings import MONTH, april  # noqa: F401 - the draft fixture, reused

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it


def test_findings_acknowledge_show_and_approve(settings: Settings, config_file: Path,  # noqa: F811
                                               april: dict[str, int]) -> None:  # noqa: F811
    listed = cspbill(config_file, "batch", "findings", "nl-bv", MONTH, "--as", "finn").stdout
    assert f"batch nl-bv {MONTH}: 4 findings, 4 blocking approval" in listed
    findings = json.loads(cspbill(config_file, "batch", "findings", "nl-bv", MONTH, "--json", "--as", "finn").stdout)
    by_kind = {f["kind"]: f["id"] for f in findings}
    assert all(ident in listed for ident in by_kind.values())
    refused = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", MONTH, "--as", "anna", ok=False)
    assert "4 blocking findings" in refused.stderr and by_kind["negative_margin"] in refused.stderr

    empty = cspbill(config_file, "batch", "acknowledge", "nl-bv", MONTH, by_kind["negative_margin"], "--reason", " ",
                    "--as", "finn", ok=False)
    assert f"finding {by_kind['negative_margin']} reason" in empty.stderr
    hard = cspbill(config_file, "batch", "acknowledge", "nl-bv", MONTH, by_kind["master_data"], "--reason", "ok",
                   "--as", "finn", ok=False)
    assert "cannot be acknowledged" in hard.stderr
    for kind in ("negative_margin", "mutation_not_provisioned", "billed_vs_vendor"):
        done = cspbill(config_file, "batch", "acknowledge", "nl-bv", MONTH, by_kind[kind], "--reason",
                       f"checked {kind} with the account manager", "--as", "finn").stdout
        assert f"finding {by_kind[kind]} ({kind}) acknowledged by finn: checked {kind}" in done
    listed = cspbill(config_file, "batch", "findings", "nl-bv", MONTH, "--as", "finn").stdout
    assert "4 findings, 1 blocking approval" in listed

    shown = cspbill(config_file, "batch", "show", "--tenant", "nl-bv", "--month", MONTH, "--as", "finn").stdout
    assert "findings before approval" in shown and all(ident in shown for ident in by_kind.values())
    cspbill(config_file, "customer", "set", str(april["Kaal BV"]), "--street", "Dorpsstraat 2", "--as", "dana")
    approved = cspbill(config_file, "batch", "approve", "--tenant", "nl-bv", "--month", MONTH, "--as", "anna").stdout
    assert "approved by anna: 4 invoices" in approved


def test_show_with_rows_lists_the_largest_changes_the_build_stored(settings: Settings,
                                                                   config_file: Path) -> None:  # noqa: F811
    """`batch show --rows N`: the N largest changes per view, as the batch page lists them, read from the figures
    the build stored (marked here, to see that they are the ones read), with the count of all changes."""
    _book(settings)
    show = ("batch", "show", "--tenant", "nl-bv", "--month", "2026-04", "--as", "finn")
    everything = json.loads(cspbill(config_file, *show, "--json").stdout)
    largest = json.loads(cspbill(config_file, *show, "--rows", "2", "--json").stdout)
    assert largest["diff"]["customers_changed"] == everything["diff"]["customers_changed"] == 6
    assert len(largest["diff"]["customers"]) == 2 and largest["customers"] == [] and everything["customers"]
    deltas = sorted((abs(Decimal(c["delta"])) for c in everything["diff"]["customers"]), reverse=True)
    assert [abs(Decimal(c["delta"])) for c in largest["diff"]["customers"]] == deltas[:2]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        april = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        uow.session.execute(update(BatchChange).where(BatchChange.batch_id == april.id, BatchChange.per == "customer")
                            .values(now_units=123_4500))
    text = cspbill(config_file, *show, "--rows", "2").stdout
    assert "subscriptions: the 2 largest of 6 changes against 2026-03" in text and "123.45" in text
    assert "per customer" not in text
