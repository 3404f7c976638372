"""The changes a build adds up from its own lines, range by range (``services.batches.change_sums``), are the ones
the database sums from the stored lines (``ReviewRepository.store_changes``): per customer and per subscription,
counted, the largest kept with the ties at the cut; in one range or many, with usage and one-time lines that name
no subscription (they fall in every range), against no month before and against an exported one."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from config import Settings
from ledger.models import BatchChange
from ledger.repositories.review import ChangeRow
from services.batches import build_batch, prepared
from services.batches.change_sums import ChangeSums
from services.batches.prepared import CHANGES, DraftedChanges, prepare_review
from services.clock import FixedClock
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import mark_exported
from tests.services.batches.test_partitioned_build import late_changes, seed, with_compute

JUNE = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
JULY = FixedClock(dt.datetime(2026, 7, 2, 7, tzinfo=dt.UTC))
ADDED_UP = "changes added up by the build's ranges"

Figures = tuple[dict[str, int], list[ChangeRow]]


def _rows(uow: UnitOfWork, batch_id: int) -> list[ChangeRow]:
    rows = [ChangeRow(row.per, row.key, row.currency, row.now_units, row.before_units)  # type: ignore[arg-type]
            for row in uow.session.scalars(select(BatchChange).where(BatchChange.batch_id == batch_id))]
    return sorted(rows, key=repr)


def _stored(settings: Settings, month: str) -> Figures:
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, month)
        return uow.review.check(batch.id, CHANGES).result, _rows(uow, batch.id)


def _summed_by_the_database(settings: Settings, month: str, keep: int) -> Figures:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        batch, previous = uow.batches.for_month(tenant_id, month), uow.batches.previous(tenant_id, month)
        counts = uow.review.store_changes(batch.id, previous.id if previous else None, keep)
        figures = counts, _rows(uow, batch.id)
        uow.session.rollback()
        return figures


@pytest.mark.parametrize("keep", [1000, 3])
@pytest.mark.parametrize("partition_customers", [50_000, 2])
def test_the_build_adds_up_the_changes_the_database_sums(settings: Settings, caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch, keep: int,
                                                         partition_customers: int) -> None:
    monkeypatch.setattr(prepared, "STORED_CHANGES", keep)
    seed(settings)
    built, finn = with_compute(settings, partition_customers=partition_customers), actor(settings, "finn")
    for month, clock in (("2026-05", JUNE), ("2026-06", JULY)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger=prepared.__name__):
            build_batch(built, "nl-bv", month, finn, clock)
        assert ADDED_UP in caplog.text
        counts, rows = _stored(settings, month)
        assert (counts, rows) == _summed_by_the_database(settings, month, keep)
        assert counts["subscription"] > 10 and any(row.key is None for row in rows if row.per == "subscription")
        if keep < counts["customer"]:  # cut: the largest (as the database ranks them), with any ties at the cut
            assert keep <= sum(row.per == "customer" for row in rows) < counts["customer"]
        mark_exported(settings, "nl-bv", month)
        late_changes(settings)


def test_sums_that_no_longer_hold_are_left_to_the_database(settings: Settings) -> None:
    """Nets added up against a month before that was rebuilt since (its revision moved) are not stored: the figure
    is summed from the ledger instead."""
    seed(settings)
    finn = actor(settings, "finn")
    build_batch(settings, "nl-bv", "2026-05", finn, JUNE)
    mark_exported(settings, "nl-bv", "2026-05")
    build_batch(settings, "nl-bv", "2026-06", finn, JULY)
    expected = _stored(settings, "2026-06")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        batch, may = uow.batches.for_month(tenant_id, "2026-06"), uow.batches.for_month(tenant_id, "2026-05")
        uow.review.record_check(batch.id, CHANGES, "stale", {}, JULY.now())
        stale = DraftedChanges(ChangeSums(), (may.id, may.revision - 1))
        assert prepare_review(uow, batch, dt.date(2026, 6, 1), dt.date(2026, 6, 30), JULY.now(), None, stale)
    assert _stored(settings, "2026-06") == expected
