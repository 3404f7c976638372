"""`cspbill demo --once` through the real console script: a month replayed against every sandbox, approved by two
people, exported to the ERP sandboxes; run twice on the same folder, the second run exports nothing new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.db import make_engine
from ledger.models import InvoiceLine
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("cspbill"))


def demo_once(directory: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPBILL_")}
    done = subprocess.run([CLI, "--config", str(ROOT / "config.yaml"), "demo", "--once", "--dir", str(directory),
                           "--month", "2026-05"], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def one_time_lines(directory: Path) -> tuple[set[str], dict[str, str]]:
    """The demo's one-time purchase lines (keys, each billed once) and refund lines (key -> line they credit)."""
    engine = make_engine(f"sqlite:///{directory / 'cspbill.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(InvoiceLine.line_key, InvoiceLine.kind, InvoiceLine.corrects_line_key)
                                      .where(InvoiceLine.base_key.contains("/one_time"))).all()
    finally:
        engine.dispose()
    purchases = [key for key, kind, _ in rows if kind == "charge"]
    assert len(set(purchases)) == len(purchases)
    return set(purchases), {key: corrects for key, kind, corrects in rows if kind == "credit"}


def test_demo_once_twice(tmp_path: Path) -> None:
    first = demo_once(tmp_path / "demo")
    assert (first["month"], first["nights"], first["sources_synced"]) == ("2026-05", 31, 4)
    assert first["snapshots"] > 100
    assert first["mutations"] == 2 and first["refused_mutations"] == 1
    assert "refused" in first["refusal"] and "next allowed" in first["refusal"]
    assert first["discrepancies"] > 0
    assert first["invoices"] > 0 and first["approved_batches"] == 2
    assert (first["exported"], first["skipped"], first["failed_exports"]) == (first["invoices"], 0, 0)
    assert {b["status"] for b in first["batches"].values()} == {"exported"}
    for entity in ("de-gmbh", "nl-bv"):  # cross-border business customers with valid VAT ids: reverse charge
        by_rate = first["batches"][f"{entity} 2026-05"]["totals"]["EUR"]["by_rate"]
        assert "AE 0%" in by_rate and by_rate["AE 0%"]["vat"] == "0.00", entity
    purchases, refunds = one_time_lines(tmp_path / "demo")
    assert len(purchases) == 4 and len(refunds) == 2  # Partner Center and Pax8 purchases; a refund of each
    assert all(corrects in purchases for corrects in refunds.values())

    second = demo_once(tmp_path / "demo")
    assert (second["exported"], second["failed_exports"]) == (0, 0)
    assert second["skipped"] == first["invoices"]
    for key in ("snapshots", "mutations", "discrepancies", "invoices", "batches"):
        assert second[key] == first[key], key
