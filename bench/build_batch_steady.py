"""Benchmark: a month-end build a year after go-live, when the batch owns all its correction months.

``build_batch_1400k`` measures a first month: its batch owns that one month. Later batches own the months their
corrections reach back to (``services.batches.months.CORRECTION_MONTHS``, twelve, once that many are billed): a
build rates every subscription over all of them and compares the result with every line billed in them, so that a
change dated back is corrected. This bench shows what that costs: the same book as ``build_batch_1400k`` at 1 %
(14,000 subscriptions; ``BENCH_SCALE`` shrinks it further), its first month built, then each month closed and the
next one built, thirteen times. It prints the first build and the last (``months_owned`` and the billed lines it
compared) and their ratio. A month is closed as the export service leaves it (``exported``), without numbering or
sending: a build reads only which lines are billed. SQLite only. Prints, never asserts.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.build_batch import CLOCK, MONTH
from bench.build_batch_1400k import seed
from bench.common import demo_ledger, in_scratch_folder, print_bench, scaled
from config import Settings
from rating.months import shift_month
from services.batches import build_batch
from services.batches.lines import BilledLine
from services.batches.months import CORRECTION_MONTHS, owned_months
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor

SUBSCRIPTIONS = 14_000  # 1 % of build_batch_1400k's book: thirteen builds take about a minute


def _close(settings: Settings, month: str) -> dict[str, str]:
    """Mark the month's batch exported, as the export service does once its invoices reached the ERP; returns the
    batch statuses per month."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        batch = uow.batches.for_month(tenant_id, month)
        batch.status = "exported"
        uow.invoices.set_status(batch.id, "exported")
        return dict(uow.batches.statuses(tenant_id))


def run(folder: Path) -> None:
    count = scaled(SUBSCRIPTIONS)
    settings = demo_ledger(folder)
    initialise(settings)
    seed(settings, count, max(1, count // 14))
    finn = actor(settings, "finn")
    month, statuses, first = MONTH, {}, None
    for _ in range(CORRECTION_MONTHS + 1):
        start = time.perf_counter()
        report = build_batch(settings, "nl-bv", month, finn, CLOCK)
        seconds = time.perf_counter() - start
        if first is None:
            first = seconds
            print_bench("build_batch_steady_first_month", count, seconds, lines=report.lines, months_owned=1)
        statuses = _close(settings, month)
        month = shift_month(month, 1)
    owned = owned_months(month, statuses)
    with UnitOfWork(engine_for(settings)) as uow:
        billed = len(uow.invoices.billed_lines(uow.tenants.by_code("nl-bv").id, *owned, BilledLine))
    start = time.perf_counter()
    report = build_batch(settings, "nl-bv", month, finn, CLOCK)
    seconds = time.perf_counter() - start
    months = 1 + next(n for n in range(CORRECTION_MONTHS + 1) if shift_month(owned[0], n) == owned[1])
    print_bench("build_batch_steady", count, seconds, lines=report.lines, months_owned=months,
                billed_lines_compared=billed, ratio_to_first_month=f"{seconds / first:.2f}")


if __name__ == "__main__":
    in_scratch_folder(run)
