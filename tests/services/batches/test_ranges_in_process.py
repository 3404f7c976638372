"""A legal entity built a range of customers at a time in this process, on both ledgers: on PostgreSQL the next range
is rated by a thread in a read-only transaction of its own while this one is stored (``partitions._overlapped``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import Settings
from config.loader import parse_settings
from ledger import usage_files
from ledger.models import Batch, InvoiceLine
from ledger.usage_files import file_sha256
from services.batches import build_batch, usage_store
from services.errors import ValidationFailed
from services.runtime import dispose_engines, engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.identity import actor
from tests.services.batches.test_bulk_build import stored
from tests.services.batches.test_partitioned_build import JUNE, seed, two_months_alike, with_compute
from tests.services.batches.test_partitioned_usage_store import MONTHS, parquet_store


def test_ranges_built_in_process_write_the_whole_draft(settings: Settings) -> None:
    """Without a cluster, a legal entity with more than ``compute.partition_customers`` customers is rated, compared
    and stored a range at a time (bounded memory); the draft equals the one built in one piece, also when a
    rebuild's ranges differ from the first build's."""
    two_months_alike(settings, with_compute(settings, partition_customers=3))


def test_ranges_are_rated_with_config_yaml_prices_as_they_are_now(settings: Settings, tmp_path: Path) -> None:
    """The rating of a range reads committed rows only, so a build first stores config.yaml's price rules: a markup
    changed since the last build reprices the draft (nl-bv's 15 % becomes 20 %: cost 30.00 is billed 36.00)."""
    seed(settings)
    finn = actor(settings, "finn")
    first = build_batch(with_compute(settings, partition_customers=3), "nl-bv", "2026-05", finn, JUNE)
    assert Decimal("34.50") in {line[2] for line in stored(settings).values()}
    data = demo_config_data()
    data["database"] = {"url": settings.database.url, "url_env": None}
    data["price_rules"] = [{**rule, "markup_percent": "20"} if rule == {"tenant": "nl-bv", "markup_percent": "15"}
                           else rule for rule in data["price_rules"]]
    repriced = parse_settings(data, tmp_path / "config.yaml")
    again = build_batch(with_compute(repriced, partition_customers=3), "nl-bv", "2026-05", finn, JUNE)
    prices = {line[2] for line in stored(settings).values()}
    assert Decimal("36.00") in prices and Decimal("34.50") not in prices
    assert again.changed > 0 and again.lines == first.lines


def test_a_changed_usage_file_fails_the_build_before_any_range_and_writes_nothing(settings: Settings,
                                                                                  tmp_path: Path) -> None:
    """A usage file changed since the sync wrote it stops the build when it sums the month, before any range is
    rated: the build fails naming the file, and the ledger holds no batch and no line of it."""
    seed(settings)
    parquet = parquet_store(settings, tmp_path / "usage")
    with UnitOfWork(engine_for(settings)) as uow:
        name = next(row.path for row in uow.usage.files(uow.tenants.by_code("nl-bv").id, *MONTHS[0]) if row.rows)
    path = tmp_path / "usage" / name
    path.write_bytes(path.read_bytes()[::-1])
    with pytest.raises(ValidationFailed, match=f"usage file {name} .*sha256"):
        build_batch(with_compute(parquet, partition_customers=3), "nl-bv", "2026-05", actor(settings, "finn"), JUNE)
    _nothing_written(settings, tmp_path)


def test_a_range_that_cannot_be_rated_fails_the_build_and_writes_nothing(settings: Settings, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A range that cannot be rated (here: the month's group file changed by someone else after the build summed
    it) fails the build (on PostgreSQL from the rating thread), naming the file; the ledger holds no batch and no
    line of it, and the build's group files are removed."""
    changed: set[Path] = set()

    def hashed_then_changed(path: Path) -> str:
        digest = file_sha256(path)
        if usage_store.BUILDS in path.parts and path not in changed:  # once the build has its hash
            changed.add(path)
            path.write_bytes(path.read_bytes()[::-1])
        return digest

    seed(settings)
    parquet = parquet_store(settings, tmp_path / "usage")
    monkeypatch.setattr(usage_files, "file_sha256", hashed_then_changed)
    with pytest.raises(ValidationFailed, match=r"usage group file \.builds/\w+/2026-04\.parquet sha256"):
        build_batch(with_compute(parquet, partition_customers=3), "nl-bv", "2026-05", actor(settings, "finn"), JUNE)
    _nothing_written(settings, tmp_path)


def _nothing_written(settings: Settings, tmp_path: Path) -> None:
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Batch)) == 0
    assert stored(settings) == {}
    assert list((tmp_path / "usage" / usage_store.BUILDS).glob("*")) == []


def test_a_line_key_refused_in_an_early_range_fails_the_build_and_writes_nothing(settings: Settings) -> None:
    """On SQLite a range's new lines may still be on their way into the ledger while the next range is rated: a line
    the ledger refuses in the first range (its key already in another batch) fails the rebuild with the plain
    sentence, and the draft stays as it was."""
    seed(settings)
    finn = actor(settings, "finn")
    ranges = with_compute(settings, partition_customers=3)
    build_batch(ranges, "nl-bv", "2026-05", finn, JUNE)
    with UnitOfWork(engine_for(settings), write=True) as uow:  # a line of the first customer moves to a July draft
        tenant_id = uow.tenants.by_code("nl-bv").id
        line = uow.session.scalars(select(InvoiceLine).order_by(InvoiceLine.customer_id, InvoiceLine.id)).first()
        july = uow.batches.add(tenant_id, "2026-07", "finn", JUNE.now())
        invoice_ids = uow.invoices.insert_invoices(july.id, tenant_id, {
            "customer_id": [line.customer_id], "invoice_key": ["july"], "group_key": [None], "currency": ["EUR"],
            "net": [Decimal(0)], "vat": [Decimal(0)], "gross": [Decimal(0)], "vat_breakdown": [[]]})
        line.invoice_id = invoice_ids["july"]
    before = stored(settings)
    with pytest.raises(ValidationFailed, match="line_key: a key of this build is already in another batch"):
        build_batch(ranges, "nl-bv", "2026-05", finn, JUNE)
    assert stored(settings) == before


def test_an_in_memory_ledger_is_built_a_range_at_a_time(tmp_path: Path) -> None:
    """An in-memory SQLite ledger is one connection per thread: its ranges are rated on the build's own connection,
    each after the last one's lines are stored, and the draft equals the one built in one piece."""
    data = demo_config_data()
    data["database"] = {"url": "sqlite:///:memory:", "url_env": None}
    config = parse_settings(data, tmp_path / "config.yaml")
    try:
        seed(config)
        finn = actor(config, "finn")
        ranges = build_batch(with_compute(config, partition_customers=3), "nl-bv", "2026-05", finn, JUNE)
        whole = build_batch(config, "nl-bv", "2026-05", finn, JUNE)
    finally:
        dispose_engines()
    assert ranges.lines > 0
    assert (whole.added, whole.changed, whole.removed) == (0, 0, 0)
