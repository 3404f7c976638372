"""A build partitioned by customer over the Parquet usage store (``usage.store: parquet``) writes the draft the build
in one piece writes, and reports a problem of the month's usage files once, with every row it concerns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import Settings
from config.usage import UsageStore
from ledger import usage_files, usage_sums
from ledger.usage_files import file_sha256
from services.batches import build_batch
from services.batches.usage_store import BUILDS
from services.errors import ValidationFailed
from services.runtime import engine_for
from services.sync.context import Counts, IngestContext
from services.sync.usage_files import store_usage_files
from services.uow import UnitOfWork
from tests.conftest import sqlite_only
from tests.identity import actor
from tests.services.batches.test_batch_support import usage
from tests.services.batches.test_bulk_build import stored
from tests.services.batches.test_partitioned_build import (  # noqa: F401 - cluster is a fixture
    JUNE,
    cluster,
    same_draft,
    seed,
    with_compute,
)
from tests.services.batches.test_usage_store_lines import STORED

pytestmark = sqlite_only  # the store's files and the ranges are the same on either ledger
MONTHS = [(dt.date(2026, 4, 1), dt.date(2026, 4, 30)), (dt.date(2026, 5, 1), dt.date(2026, 5, 31))]


def parquet_store(settings: Settings, root: Path) -> Settings:
    """The ledger's usage rows of April and May written to the Parquet store, as the nightly sync writes them, and
    the settings that read usage from there."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        context = IngestContext("azure-costs", tenant_id, ZoneInfo("UTC"), dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                                None, root)
        for first, last in MONTHS:
            rows = [{name: getattr(row, name) for name in STORED} for row in uow.batches.usage_rows(tenant_id, first,
                                                                                                     last)]
            store_usage_files(uow, context, rows, first, last, False, Counts())
    return settings.model_copy(update={"usage": UsageStore(store="parquet", parquet_dir=str(root))})


def test_ranges_over_the_usage_store_write_the_whole_draft(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Also: the month's usage files are read once per build, not once per range (the build sums them into a group
    file that each range reads), and each file is hashed once for its check against the manifest (the real queries
    and hashes, recorded as they run); the build's group files are removed afterwards."""
    hashed: list[Path] = []
    queries: list[list[str]] = []  # per DuckDB query, the usage files it reads
    run = usage_sums._run

    def counted(path: Path) -> str:
        hashed.append(path)
        return file_sha256(path)

    def recorded(root: Path, query: str, parameters: list | dict, *args: object) -> list[tuple]:
        paths = parameters["files"] if isinstance(parameters, dict) else parameters[-1]
        queries.append([path for path in paths if f"{BUILDS}/" not in path])
        return run(root, query, parameters, *args)

    seed(settings)
    with UnitOfWork(engine_for(settings)) as uow:
        ids = sorted(customer.id for customer in uow.batches.customers(uow.tenants.by_code("nl-bv").id))
    for customer_id in (ids[0], ids[-1]):  # in the first range and the last: April's usage, billed in May
        usage(settings, "nl-bv", customer_id, None, "2026-04-16", "5.00", meter="m-jpy", currency="JPY",
              row_key=f"{customer_id}/jpy")
    parquet = parquet_store(settings, tmp_path / "usage")
    monkeypatch.setattr(usage_files, "file_sha256", counted)
    monkeypatch.setattr(usage_sums, "_run", recorded)
    finn = actor(settings, "finn")

    in_ranges = build_batch(with_compute(parquet, partition_customers=3), "nl-bv", "2026-05", finn, JUNE)
    lines = stored(settings)
    assert in_ranges.lines == len(lines) > 40 and in_ranges.created
    assert any("/usage:" in key for key in lines)
    named = {tuple(line[-1]["input_ids"]) for key, line in lines.items() if "/usage:" in key}
    assert [len(ids) for ids in named] == [1] and next(iter(named))[0].startswith("usage_file_set:")  # April, once
    with UnitOfWork(engine_for(settings)) as uow:
        files = list(uow.usage.files(uow.tenants.by_code("nl-bv").id, *MONTHS[0]))
    manifest, with_rows = [row.path for row in files], sorted(str(tmp_path / "usage" / row.path) for row in files
                                                              if row.rows)
    assert [sorted(query) for query in queries if query] == [with_rows] and len(queries) > 4
    whole = build_batch(parquet, "nl-bv", "2026-05", finn, JUNE)
    same_draft(in_ranges, whole)
    assert stored(settings) == lines
    assert [problem for problem in whole.problems if "JPY" in problem] == [
        "usage files of 2026-04 currency: no JPY->EUR rate in fx_rates (2 row(s))"]
    assert sum("no customer" in problem for problem in whole.problems) == 1
    checked = [path for path in hashed if BUILDS not in path.parts]
    assert len(manifest) == 30 and sorted(checked) == sorted(tmp_path / "usage" / name for name in manifest)
    assert list((tmp_path / "usage" / BUILDS).glob("*")) == []


def test_a_store_file_rewritten_after_its_check_is_refused(settings: Settings, tmp_path: Path) -> None:
    """A file checked once and then rewritten with other bytes of the same length is checked again, and refused."""
    seed(settings)
    parquet = parquet_store(settings, tmp_path / "usage")
    finn = actor(settings, "finn")
    build_batch(parquet, "nl-bv", "2026-05", finn, JUNE)
    with UnitOfWork(engine_for(settings)) as uow:
        name = next(row.path for row in uow.usage.files(uow.tenants.by_code("nl-bv").id, *MONTHS[0]) if row.rows)
    path = tmp_path / "usage" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValidationFailed, match=f"usage file {name} .*sha256"):
        build_batch(parquet, "nl-bv", "2026-05", finn, JUNE)


def test_dask_workers_rate_the_usage_store_from_the_build_s_group_files(settings: Settings, tmp_path: Path,
                                                                        cluster: str) -> None:  # noqa: F811
    """On a Dask cluster, the workers rate each partition's usage from the group files the building process wrote
    under the store's root: the draft equals the one built in one piece in this process, and the files are gone."""
    seed(settings)
    parquet = parquet_store(settings, tmp_path / "usage")
    finn = actor(settings, "finn")
    on_cluster = build_batch(with_compute(parquet, dask_scheduler=cluster), "nl-bv", "2026-05", finn, JUNE)
    lines = stored(settings)
    assert any("/usage:" in key for key in lines) and on_cluster.created
    whole = build_batch(parquet, "nl-bv", "2026-05", finn, JUNE)
    same_draft(on_cluster, whole)
    assert stored(settings) == lines
    assert list((tmp_path / "usage" / BUILDS).glob("*")) == []
