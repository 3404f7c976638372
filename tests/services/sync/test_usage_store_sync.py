"""With ``usage.store: parquet`` the nightly sync writes usage as day files of the Parquet store, with a manifest
row per file in the ledger: a re-run replaces files and rows, never doubles them; a refused read writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from config import Settings
from config.usage import UsageStore
from connectors.errors import MalformedRecord
from connectors.records import PullResult
from ledger.models import InvoiceLine, UsageFile, UsageRow
from ledger.usage_files import file_sha256
from services.batches import build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.services.sync.test_sync_support import Vendor, customer, night, usage

d = dt.date


@pytest.fixture
def ledger(settings: Settings, tmp_path: Path) -> Settings:
    stored = settings.model_copy(update={"usage": UsageStore(store="parquet", parquet_dir=str(tmp_path / "usage"))})
    initialise(stored)
    return stored


def run(settings: Settings, vendor: Vendor, when: dt.datetime):
    return {r.source: r for r in sync(settings, FixedClock(when), who=nightly(settings), source="azure-costs",
                                      open_reader=vendor.open).runs}["azure-costs"]


def manifest(settings: Settings) -> list[tuple[str, int, str]]:
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(UsageRow)) == 0
        return [(row.path, row.rows, row.sha256)
                for row in uow.session.scalars(select(UsageFile).order_by(UsageFile.path))]


def test_usage_goes_to_day_files_and_a_rerun_replaces_them(ledger: Settings) -> None:
    root = Path(ledger.usage.parquet_dir)
    vendor = Vendor({"azure-costs": PullResult(customers=(customer("c1"),), usage=(
        usage("u1", d(2026, 5, 1), "0.1"), usage("u2", d(2026, 5, 1), "0.2"), usage("u3", d(2026, 5, 3), "3")))},
        windows={"azure-costs": (d(2026, 5, 1), d(2026, 5, 3))})
    first = run(ledger, vendor, night(4))
    assert first.status == "succeeded"
    assert {k: v for k, v in first.counts.items() if k.startswith("usage_")} == \
        {"usage_files_written": 3, "usage_rows_stored": 3}
    files = manifest(ledger)
    assert [(Path(path).name, rows) for path, rows, _ in files] == [
        ("azure-costs-2026-05-01.parquet", 2), ("azure-costs-2026-05-02.parquet", 0),
        ("azure-costs-2026-05-03.parquet", 1)]
    assert all(file_sha256(root / path) == digest for path, _, digest in files)
    table = pq.read_table(root / files[0][0])
    assert table.column("cost_units").to_pylist() == [10_000_000, 20_000_000]
    assert table.column("tag_env").to_pylist() == ["Prod", "Prod"]

    # the next night re-reads 05-02..05-04: u3 restated, u4 new; 05-01 stays as it was
    vendor.answers["azure-costs"] = PullResult(customers=(customer("c1"),), usage=(
        usage("u3", d(2026, 5, 3), "3.5"), usage("u4", d(2026, 5, 4), "4")))
    vendor.windows["azure-costs"] = (d(2026, 5, 2), d(2026, 5, 4))
    run(ledger, vendor, night(5))
    again = manifest(ledger)
    assert [(Path(path).name, rows) for path, rows, _ in again] == [
        ("azure-costs-2026-05-01.parquet", 2), ("azure-costs-2026-05-02.parquet", 0),
        ("azure-costs-2026-05-03.parquet", 1), ("azure-costs-2026-05-04.parquet", 1)]
    assert len(list(root.rglob("*.parquet"))) == 4
    assert again[0] == files[0]
    assert pq.read_table(root / again[2][0]).column("cost_units").to_pylist() == [350_000_000]


def test_a_refused_read_writes_no_file(ledger: Settings) -> None:
    vendor = Vendor({"azure-costs": PullResult(customers=(customer("c1"),), usage=(
        usage("u1", d(2026, 5, 1), "1"),), errors=(MalformedRecord("azure-costs", "part_1.csv", "cost", "bad"),))},
        windows={"azure-costs": (d(2026, 5, 1), d(2026, 5, 2))})
    result = run(ledger, vendor, night(3))
    assert result.counts["usage_days_deferred"] == 2
    assert manifest(ledger) == []


def test_the_month_end_build_bills_the_same_usage_from_either_store(ledger: Settings, tmp_path: Path) -> None:
    """The batch of June bills May's usage in arrears: built from the Parquet store it has exactly the usage lines
    (keys, amounts, quantities, descriptions) of the same build from the ledger's usage rows."""
    plain = ledger.model_copy(update={"usage": UsageStore(), "database": ledger.database.model_copy(
        update={"url": f"sqlite:///{tmp_path / 'plain.db'}"})})
    initialise(plain)
    rows = (usage("u1", d(2026, 5, 1), "0.1"), usage("u2", d(2026, 5, 1), "0.2"), usage("u3", d(2026, 5, 17), "3"),
            usage("u4", d(2026, 5, 31), "12.345678"))
    lines = {}
    for name, settings in (("parquet", ledger), ("ledger", plain)):
        vendor = Vendor({"azure-costs": PullResult(customers=(customer("c1"),), usage=rows)},
                        windows={"azure-costs": (d(2026, 5, 1), d(2026, 5, 31))})
        assert run(settings, vendor, night(1, 6)).status == "succeeded"
        tenant = next(s.tenant for s in settings.sources if s.name == "azure-costs")
        build_batch(settings, tenant, "2026-06", actor(settings, "finn" if tenant == "nl-bv" else "greta"),
                    FixedClock(night(2, 7)))
        with UnitOfWork(engine_for(settings)) as uow:
            lines[name] = sorted((line.base_key, line.amount, line.quantity, line.description) for line in
                                 uow.session.scalars(select(InvoiceLine).where(InvoiceLine.kind == "usage")))
    assert lines["parquet"] and lines["parquet"] == lines["ledger"]
