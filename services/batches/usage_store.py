"""Usage rated from the Parquet usage store: the grouping runs in DuckDB over the files (``ledger.usage_sums``), the
pricing is the one ``rating.consumption`` applies to usage in memory, so both stores give the same lines.

Why here: :func:`month_usage_lines` is the batch build's entry point; it picks the store config names (for the
Parquet store :func:`store_usage_lines`, the counterpart of ``services.batches.usage.usage_lines``); the benchmark calls
:func:`rate_usage_files`, which only joins the store's grouping to the shared pricing step for one tenant and day.

Why a build first sums each usage month into a group file (:func:`usage_groups`): a build rates its customers in
ranges (``compute.partition_customers``, or Dask partitions), and every range read every usage row of the month to
keep its own customers' rows: with 100 M rows and eight ranges, eight full scans. The build's process now checks the
month's files against the manifest and sums them once, per customer and group, into a file under the store's root
(every Dask worker already reads that folder); each range reads its customers' sums from that much smaller file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from config import Settings
from ledger.models import Customer, Subscription, UsageFile
from ledger.shards import WHOLE, Shard
from ledger.usage_sums import DEFAULT_MEMORY_LIMIT, group_details, row_counts, sum_files, write_groups
from rating.consumption import COST_DECIMALS, UsageLine, UsageSum, price_sums
from rating.months import month_end, month_of
from rating.pricing import FxTable, Markups
from rating.rounding import RoundingPolicy
from services.batches.lines import DesiredLine
from services.batches.timeline import Pricing
from services.batches.usage import GROUP_BY, Described, desired_line, usage_lines
from services.errors import ValidationFailed
from services.prices.book import priced
from services.progress import Counted, count
from services.uow import UnitOfWork

DESCRIBED = ("meter_name", "meter_category", "subscription_id", "subscription_external_id", "tags")
BUILDS = ".builds"  # under the store's root: a folder of group files per running build
STALE_SECONDS = 86_400  # a build's folder older than this was left by a process that died: removed by the next build


@dataclass(frozen=True)
class GroupFile:
    """One usage month of a build summed per customer and group (``ledger.usage_sums.write_groups``): the file, its
    sha256, both relative to the store's root, and what a line's lineage names as its inputs: the usage file set it
    was summed from (``usage_file_set:<id>``, ``UsageRepository.file_set``)."""

    month: dt.date
    path: str
    sha256: str
    inputs: tuple[str, ...]


def usage_days(first_day: dt.date, last_day: dt.date) -> tuple[dt.date, dt.date]:
    """The usage days a build billing ``first_day``..``last_day`` rates: the months before, billed in arrears."""
    return ((first_day.replace(day=1) - dt.timedelta(days=1)).replace(day=1),
            last_day.replace(day=1) - dt.timedelta(days=1))


@contextmanager
def usage_groups(uow: UnitOfWork, settings: Settings, tenant_id: int, first: dt.date, last: dt.date,
                 counted: Counted | None = None) -> Iterator[tuple[GroupFile, ...]]:
    """The usage months of days ``first``..``last`` of the Parquet store, each checked against the manifest and
    summed into a group file for the build that holds this context (none with the ledger store), its files recorded
    as the usage file set its lines name (in the caller's unit of work, written with the draft); the build's folder
    of group files is removed when it ends, however it ends, and so are folders older than a day (a killed build's)."""
    root = settings.usage.root(settings.base_dir)
    if root is None:
        yield ()
        return
    from ledger.usage_files import file_sha256  # with pyarrow: only a build over the Parquet store needs it

    _remove_stale(root / BUILDS)
    folder = Path(BUILDS) / uuid.uuid4().hex
    try:
        months = sorted(_checked_files(uow, root, tenant_id, first, last).items())
        groups = []
        for done, (month, files) in enumerate(months):
            count(counted, "usage months", done, len(months))
            path = folder / f"{month:%Y-%m}.parquet"
            write_groups(root, [row.path for row in files], root / path, GROUP_BY, DESCRIBED,
                         memory_limit=settings.usage.memory_limit)
            named = f"usage_file_set:{uow.usage.file_set(tenant_id, month, files)}"
            groups.append(GroupFile(month, path.as_posix(), file_sha256(root / path), (named,)))
        count(counted, "usage months", len(months), len(months))
        yield tuple(groups)
    finally:
        shutil.rmtree(root / folder, ignore_errors=True)


def _remove_stale(builds: Path) -> None:
    if not builds.is_dir():
        return
    for folder in builds.iterdir():
        try:
            stale = time.time() - folder.stat().st_mtime > STALE_SECONDS
        except FileNotFoundError:  # another build removed it first
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)


def _checked_files(uow: UnitOfWork, root: Path, tenant_id: int, first: dt.date,
                   last: dt.date) -> dict[dt.date, list[UsageFile]]:
    """The manifest's files with rows of days ``first``..``last`` per usage month, each checked against its sha256 (a
    file missing or changed since the sync wrote it is a ``ValidationFailed`` naming it: nothing is billed from it)."""
    from ledger.usage_files import holds_sha256

    files: dict[dt.date, list[UsageFile]] = defaultdict(list)
    for row in uow.usage.files(tenant_id, first, last):
        if not holds_sha256(root / row.path, row.sha256):
            raise ValidationFailed(f"usage file {row.path} (usage_files {row.id}) sha256: missing or changed since "
                                   f"sync run {row.sync_run_id} wrote it; re-run the sync for {row.usage_date}")
        if row.rows:
            files[row.month].append(row)
    return files


def rate_usage_files(
    root: Path,
    files: Sequence[str],
    *,
    tenant: str,
    currency: str,
    group_by: Sequence[str],
    markups: Markups,
    fx: FxTable,
    on: date,
    rounding: RoundingPolicy,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> list[UsageLine]:
    """Price the usage rows of ``files`` (relative to ``root``) as ``rating.usage_frames.rate_usage`` prices a
    DataFrame of the same rows: one line per group, in sorted group order; lineage names the files read."""
    rules = markups.in_force(tenant, on)
    sums = sum_files(root, files, rules, group_by, memory_limit=memory_limit)
    return price_sums(sums, rules=rules, tenant=tenant, currency=currency, group_by=group_by, fx=fx, on=on,
                      rounding=rounding)


def month_usage_lines(uow: UnitOfWork, settings: Settings, tenant: str, tenant_id: int, first: dt.date,
                      last: dt.date, customers: Mapping[int, Customer], subscriptions: Mapping[int, Subscription],
                      pricing: Pricing, fx: FxTable, rounding: RoundingPolicy, currency: str,
                      problems: list[str], shard: Shard = WHOLE,
                      groups: Sequence[GroupFile] = ()) -> list[DesiredLine]:
    """Desired usage lines of days ``first``..``last`` (inclusive) from the store ``usage.store`` names: the
    ledger's usage rows, or the Parquet store's months as the build summed them (``groups``, of
    :func:`usage_groups` for the same days). Only the rows of ``shard``'s customers are rated."""
    root = settings.usage.root(settings.base_dir)
    if root is None:
        return usage_lines(tenant, uow.batches.usage_rows(tenant_id, first, last, shard), customers, subscriptions,
                           pricing, fx, rounding, currency, problems)
    return store_usage_lines(tenant, root, groups, customers, pricing, fx, rounding, currency, problems,
                             settings.usage.memory_limit, shard)


def store_usage_lines(tenant: str, root: Path, groups: Sequence[GroupFile], customers: Mapping[int, Customer],
                      pricing: Pricing, fx: FxTable, rounding: RoundingPolicy, currency: str, problems: list[str],
                      memory_limit: str = DEFAULT_MEMORY_LIMIT, shard: Shard = WHOLE) -> list[DesiredLine]:
    """Desired usage lines of the store's usage months (a group file each), as ``services.batches.usage.usage_lines``
    makes them from ledger rows: same keys, amounts, formulas and descriptions; lineage names the usage files. Rows
    without a customer, or in a currency without a rate, are reported once per month and currency, and left out of
    the amounts. A build in ranges of customers reports them from the range that holds the rows without a customer
    (``shard.orphans``), counted over the whole month: a problem of the files is the month's, not one range's."""
    from ledger.usage_files import holds_sha256

    keys = {str(customer.id): priced(customer).key for customer in customers.values()}
    lines = []
    for group in sorted(groups, key=lambda group: group.month):
        if not holds_sha256(root / group.path, group.sha256):  # a Dask worker reads it after the build wrote it
            raise ValidationFailed(f"usage group file {group.path} sha256: missing or changed since this build "
                                   f"summed the usage files of {month_of(group.month)} into it; build again")
        month, names = group.month, [group.path]
        on = month_end(month)
        edition, reprice = pricing.editions.at(on + dt.timedelta(days=1))
        rules = pricing.book.markups.known_at(edition).in_force(tenant, on)
        found = sum_files(root, names, rules, GROUP_BY, memory_limit=memory_limit, customer_keys=keys, shard=shard,
                          grouped=group.inputs)
        if shard.whole:
            problems += _month_problems(month, _row_counts(found), fx, currency)
        elif shard.orphans:
            problems += _month_problems(month, row_counts(root, names, memory_limit=memory_limit, grouped=True), fx,
                                        currency)
        sums = [item for item in found if item.group[0] is not None and _has_rate(fx, item.currency, currency, on)]
        details = group_details(root, names, GROUP_BY, DESCRIBED, memory_limit=memory_limit, customer_keys=keys,
                                shard=shard, grouped=True)
        costs: dict[tuple[object, ...], int] = defaultdict(int)  # per group, over its rules and currencies
        for item in sums:
            costs[item.group] += item.cost_units
        for rated in price_sums(sums, rules=rules, tenant=tenant, currency=currency, group_by=GROUP_BY, fx=fx, on=on,
                                rounding=rounding):
            group = tuple(value for _, value in rated.group)
            about = details[group]
            line = desired_line(tenant, month, rated, Described(
                str(about["meter_name"]), str(about["meter_category"]), _optional_int(about["subscription_id"]),
                str(about["subscription_external_id"]), json.loads(str(about["tags"] or "{}")),
                Decimal(about["quantity"]), Decimal(costs[group]).scaleb(-COST_DECIMALS).normalize()))
            if reprice is not None:
                line.lineage["reprice"] = reprice.describe()
            lines.append(line)
    return lines


def _month_problems(month: dt.date, counts: Mapping[tuple[str | None, bool], int], fx: FxTable,
                    currency: str) -> list[str]:
    """What cannot be billed of a usage month, from its rows per (currency, names no customer): the rows without a
    customer, and per currency without an exchange rate on the month's last day, the rows in it."""
    on, name = month_end(month), month_of(month)
    problems = []
    orphans = sum(rows for (_, orphan), rows in counts.items() if orphan)
    if orphans:
        problems.append(f"usage files of {name}: {orphans} usage row(s) have no customer")
    by_currency: dict[str, int] = defaultdict(int)
    for (row_currency, orphan), rows in counts.items():
        if not orphan and row_currency is not None:
            by_currency[row_currency] += rows
    for row_currency, rows in sorted(by_currency.items()):
        if not _has_rate(fx, row_currency, currency, on):
            problems.append(f"usage files of {name} currency: no {row_currency}->{currency} rate in fx_rates "
                            f"({rows} row(s))")
    return problems


def _row_counts(sums: Sequence[UsageSum]) -> dict[tuple[str | None, bool], int]:
    counts: dict[tuple[str | None, bool], int] = defaultdict(int)
    for item in sums:
        counts[item.currency, item.group[0] is None] += item.rows
    return counts


def _has_rate(fx: FxTable, source: str, target: str, on: date) -> bool:
    try:
        fx.rate(source, target, on)
    except KeyError:
        return False
    return True


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
