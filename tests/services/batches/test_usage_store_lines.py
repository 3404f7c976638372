"""The batch's usage lines from the Parquet store equal those from the ledger table on the same rows: keys, amounts,
unrounded values, formulas, quantities and descriptions; only the lineage's inputs differ (files, not row ids)."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import Settings
from config.usage import UsageStore
from ledger.models import UsageFileSet, UsageRow
from rating.proration import PricePolicy
from rating.rounding import RoundingPolicy
from services.batches.desired import editions
from services.batches.fx import fx_table
from services.batches.inputs import input_record, references
from services.batches.timeline import Pricing
from services.batches.usage_store import BUILDS, month_usage_lines, usage_groups
from services.errors import NotFound, ValidationFailed
from services.operations import initialise
from services.prices import price_book
from services.runtime import engine_for
from services.sync.context import Counts, IngestContext
from services.sync.usage_files import store_usage_files
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, usage

APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
STORED = ("row_key", "tenant_id", "customer_id", "subscription_id", "subscription_external_id", "usage_date",
          "meter_id", "meter_name", "meter_category", "resource_group", "resource_location", "tags", "quantity", "cost",
          "currency")


def seed(settings: Settings) -> None:
    initialise(settings)
    contoso = add_customer(settings, "nl-bv", "Contoso")
    sub = add_subscription(settings, "nl-bv", contoso, "sub-contoso", "2026-03-10")
    fabrikam = add_customer(settings, "nl-bv", "Fabrikam")
    for day, cost, meter, category in [("2026-04-03", "0.1", "m-1", "Storage"), ("2026-04-04", "0.2", "m-1", "Storage"),
                                       ("2026-04-05", "10.00000001", "vm", "Virtual Machines"),
                                       ("2026-04-09", "0.33333333", "vm", "Virtual Machines")]:
        usage(settings, "nl-bv", contoso, sub, day, cost, meter=meter, category=category)
    for day in range(1, 11):  # ten times 0.1 is not 1.0 in float64
        usage(settings, "nl-bv", fabrikam, None, f"2026-04-{day:02d}", "0.1", meter="bw", category="Bandwidth")


def both(settings: Settings, root: Path) -> tuple[list, list, list[str], list[str]]:
    tenant = settings.tenant("nl-bv")
    policy = settings.rating_for(tenant)
    rounding = RoundingPolicy(policy.rounding_for(tenant.currency))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        prices = price_book("nl-bv", uow.prices.rules("nl-bv"), uow.prices.list_prices("EUR", market=tenant.country),
                            uow.prices.config_imports(), uow.batches.cost_prices(tenant_id))
        pricing = Pricing(prices, editions(uow, "nl-bv", tenant_id), PricePolicy(policy.price_change))
        fx = fx_table(uow.prices.fx_rates())
        customers = {c.id: c for c in uow.batches.customers(tenant_id)}
        subscriptions = {s.id: s for s in uow.batches.subscriptions(tenant_id)}
        rows: list[UsageRow] = list(uow.batches.usage_rows(tenant_id, *APRIL))
        ledger_problems: list[str] = []
        from_ledger = month_usage_lines(uow, settings, "nl-bv", tenant_id, *APRIL, customers, subscriptions,
                                        pricing, fx, rounding, "EUR", ledger_problems)
        context = IngestContext("azure-costs", tenant_id, ZoneInfo("UTC"), dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
                                None, root)
        store_usage_files(uow, context, [{name: getattr(row, name) for name in STORED} for row in rows], *APRIL,
                          False, Counts())
        files = [row.path for row in uow.usage.files(tenant_id, *APRIL) if row.rows]  # 30 days, 10 with usage
        store_problems: list[str] = []
        parquet = settings.model_copy(update={"usage": UsageStore(store="parquet", parquet_dir=str(root))})
        with usage_groups(uow, parquet, tenant_id, *APRIL) as groups:
            from_store = month_usage_lines(uow, parquet, "nl-bv", tenant_id, *APRIL, customers, subscriptions,
                                           pricing, fx, rounding, "EUR", store_problems, groups=groups)
    assert list((root / BUILDS).glob("*")) == []  # the build's group files are gone
    return from_ledger, from_store, files, store_problems


def test_store_lines_equal_ledger_lines(settings: Settings, tmp_path: Path) -> None:
    seed(settings)
    from_ledger, from_store, files, problems = both(settings, tmp_path)
    assert problems == []
    assert len(files) == 10 and len(from_ledger) == 3

    def comparable(line) -> tuple:
        lineage = {**line.lineage, "input_ids": None,
                   "details": {**line.lineage["details"], "cost": Decimal(line.lineage["details"]["cost"])}}
        return (line.base_key, line.customer_id, line.subscription_id, line.period_from, line.period_to,
                line.bill_month, line.description, line.quantity, line.unit_price, line.amount, line.unrounded,
                line.currency, line.group, lineage)

    assert [comparable(line) for line in from_store] == [comparable(line) for line in from_ledger]
    amounts = {line.base_key.split("/")[-1]: line.amount for line in from_store}
    assert amounts["usage:bw"] == Decimal("1.15")  # 1.00 × 15 %: exact, where float64 sums 0.9999999999999999
    (named,) = {tuple(line.lineage["input_ids"]) for line in from_store}  # every line names April's one set
    kind, set_id = named[0].split(":")
    with UnitOfWork(engine_for(settings)) as uow:
        stored = uow.session.get(UsageFileSet, int(set_id))
        manifest = {row.path: [row.path, row.sha256, row.rows] for row in uow.usage.files(stored.tenant_id, *APRIL)}
    assert (kind, stored.month) == ("usage_file_set", dt.date(2026, 4, 1))
    assert stored.files == [manifest[name] for name in sorted(files)]  # the ten files with usage, as summed


def test_the_same_files_name_the_same_set(settings: Settings, tmp_path: Path) -> None:
    """A rebuild over unchanged files names the set the first build stored (its lines stay as they are); a file
    written again is another set, and the first stays as it was (append-only)."""
    seed(settings)
    _, first, files, _ = both(settings, tmp_path)
    _, again, _, _ = both(settings, tmp_path)
    assert [line.lineage["input_ids"] for line in again] == [line.lineage["input_ids"] for line in first]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        (row,) = [row for row in uow.usage.files(uow.tenants.by_code("nl-bv").id, *APRIL) if row.path == files[0]]
        before = uow.session.get(UsageFileSet, int(first[0].lineage["input_ids"][0].split(":")[1]))
        row.sha256 = "0" * 64
        changed = uow.usage.file_set(row.tenant_id, row.month, [row])
        assert changed != before.id and before.files[0][1] != "0" * 64
        uow.session.rollback()


def test_a_changed_store_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    seed(settings)
    _, _, files, _ = both(settings, tmp_path)
    (tmp_path / files[2]).write_bytes(b"not the file the sync wrote")
    with pytest.raises(ValidationFailed, match=f"usage file {files[2]} .*sha256"):
        _rate_again(settings, tmp_path)


def _rate_again(settings: Settings, root: Path) -> None:
    """The store's check comes before any summing or pricing, so nothing else is needed."""
    parquet = settings.model_copy(update={"usage": UsageStore(store="parquet", parquet_dir=str(root))})
    with UnitOfWork(engine_for(settings)) as uow, usage_groups(uow, parquet, uow.tenants.by_code("nl-bv").id, *APRIL):
        pass


def test_a_killed_build_s_group_files_are_removed_a_day_later(settings: Settings, tmp_path: Path) -> None:
    """A build's folder left by a process that died is removed by the next build once it is a day old; a folder of
    a build that may still run (younger) is left alone."""
    seed(settings)
    both(settings, tmp_path)
    old, young = tmp_path / BUILDS / "killed", tmp_path / BUILDS / "running"
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "2026-04.parquet").write_bytes(b"group file")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(old, (two_days_ago, two_days_ago))
    _rate_again(settings, tmp_path)
    assert sorted(path.name for path in (tmp_path / BUILDS).iterdir()) == ["running"]


def test_finance_opens_the_set_a_usage_line_names(settings: Settings, tmp_path: Path) -> None:
    """The line page links ``usage_file_set:<id>`` (``services.batches.inputs``): its record lists each file with
    its rows and sha256, for finance of its legal entity only."""
    seed(settings)
    _, lines, files, _ = both(settings, tmp_path)
    (reference,) = references(lines[0].lineage["input_ids"][0])
    record = input_record(settings, actor(settings, "finn"), reference.kind, reference.record_id)
    facts = dict(record.facts)
    assert (record.title, record.tenant, facts["month"], facts["files"]) == ("Usage files summed", "nl-bv",
                                                                               "2026-04", "10")
    assert [name for name, _ in record.facts if name in files] == sorted(files)
    assert all(re.fullmatch(r"[1-9]\d* rows, sha256 [0-9a-f]{64}", facts[name]) for name in files)
    with pytest.raises(NotFound):
        input_record(settings, actor(settings, "greta"), reference.kind, reference.record_id)  # de-gmbh finance
