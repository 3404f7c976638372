"""Gapless, unique invoice numbers per legal entity and year, also when approvals run in parallel processes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from ledger.models import Invoice
from services.batches import approve_batch, build_batch
from services.batches.numbering import allocate, format_number
from services.clock import FixedClock
from services.errors import ValidationFailed
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import ROOT, demo_config_data
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot

CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")


def settings_with(db_url: str, tmp_path: Path, **numbers: object) -> tuple[Settings, Path]:
    data = demo_config_data()
    data["database"] = {"url": db_url, "url_env": None}
    data["tenants"][0]["invoice_numbers"].update(numbers)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return parse_settings(data, path), path


def seed_months(settings: Settings, customers: int) -> None:
    """``customers`` customers with a monthly licence since January; one draft batch per month in MONTHS."""
    initialise(settings)
    for n in range(customers):
        customer = add_customer(settings, "nl-bv", f"Customer {n:02d}")
        sub = add_subscription(settings, "nl-bv", customer, f"sub-{n}", "2026-01-01")
        snapshot(settings, sub, "2026-01-01", n + 1)
    for month in MONTHS:
        build_batch(settings, "nl-bv", month, actor(settings, "finn"), CLOCK)


def numbers(settings: Settings) -> list[str]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(Invoice.number).where(Invoice.number.is_not(None))))


@pytest.mark.parametrize(("pattern", "seq", "expected"), [
    ("{year}-{seq:06d}", 7, "2026-000007"),
    ("NL{year}-{seq:05d}", 12345, "NL2026-12345"),
    ("DE-{year}-{seq:06d}", 100001, "DE-2026-100001"),
    ("INV{seq}", 42, "INV42"),
])
def test_number_format(pattern: str, seq: int, expected: str) -> None:
    assert format_number(pattern, 2026, seq) == expected


def test_counter_per_tenant_and_year_starts_at_first(settings: Settings) -> None:
    initialise(settings)
    de = settings.tenant("de-gmbh").invoice_numbers
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("de-gmbh").id
        first = allocate(uow, "de-gmbh", tenant_id, de, 2026, 3)
        second = allocate(uow, "de-gmbh", tenant_id, de, 2026, 2)
        next_year = allocate(uow, "de-gmbh", tenant_id, de, 2027, 1)
        nothing = allocate(uow, "de-gmbh", tenant_id, de, 2026, 0)
    assert (first.first, first.last, second.first, second.last) == (100001, 100003, 100004, 100005)
    assert (next_year.first, next_year.last) == (100001, 100001)
    assert nothing.count == 0


def test_an_exhausted_range_is_a_clear_error_and_nothing_is_numbered(db_url: str, tmp_path: Path) -> None:
    settings, _ = settings_with(db_url, tmp_path, first=1, last=6)
    seed_months(settings, 4)
    approve_batch(settings, "nl-bv", "2026-01", actor(settings, "anna"), CLOCK)
    with pytest.raises(ValidationFailed, match=r"invoice_numbers: range 1..6 of 2026 is exhausted \(4 .* 2 left\)"):
        approve_batch(settings, "nl-bv", "2026-02", actor(settings, "anna"), CLOCK)
    assert sorted(numbers(settings)) == [f"NL2026-0000{n}" for n in range(1, 5)]
    with UnitOfWork(engine_for(settings)) as uow:
        assert uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-02").status == "draft"


APPROVE = """
import sys, time, datetime as dt
from config import load_config
from services.batches import approve_batch
from services.clock import FixedClock
from services.errors import NotAllowed
from tests.identity import actor
config, months, start = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
settings = load_config(config)
anna = actor(settings, "anna")
when = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
time.sleep(max(0.0, start - time.time()))
for month in months:  # every process races for every month, in month order, as people clicking Approve would
    while True:
        try:
            report = approve_batch(settings, "nl-bv", month, anna, when)
        except NotAllowed as exc:
            if "still a draft" in str(exc):
                time.sleep(0.02)  # an earlier month is being approved by another process
                continue
            break  # already approved by another process
        print(month, report.first_number, report.last_number)
        break
"""


def test_parallel_approvals_in_separate_processes_stay_gapless_and_in_month_order(db_url: str, tmp_path: Path) -> None:
    settings, path = settings_with(db_url, tmp_path)
    seed_months(settings, 6)
    start = time.time() + 2.0  # every process is connected and waiting before the first one approves
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CSPBILL_DATABASE_URL", None)
    procs = [subprocess.Popen([sys.executable, "-c", APPROVE, str(path), ",".join(MONTHS), str(start)], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), [err for _, err in results]
    approved = sorted(line.split() for out, _ in results for line in out.splitlines())
    assert [month for month, _, _ in approved] == sorted(MONTHS)  # each month approved exactly once
    blocks = [[int(number.rsplit("-", 1)[1]) for number in (first, last)] for _, first, last in approved]
    assert all(later[0] == earlier[1] + 1 for earlier, later in pairwise(blocks))  # numbers follow the months
    got = sorted(numbers(settings))
    assert got == [f"NL2026-{n:05d}" for n in range(1, 6 * len(MONTHS) + 1)]
    with UnitOfWork(engine_for(settings)) as uow:
        counter = uow.invoices.lock_counter(uow.tenants.by_code("nl-bv").id, 2026, 0)
    assert counter == 6 * len(MONTHS)
