"""Benchmark: the usage a month-end build in ranges of customers rates from the Parquet usage store.

A build rates a large legal entity a range of customers at a time (``compute.partition_customers``, or Dask
partitions). It sums each usage month once into a group file (``ledger.usage_sums.write_groups``: a row per
customer, subscription, meter, markup scope and currency), then every range rates its own customers from that file
(``services.batches.usage_store.store_usage_lines``: sums, descriptions, markups, FX, the keyed lines with lineage).
Printed beside it, ``..._per_range_scans``: the DuckDB part alone of what every range did before (both scans of the
whole month, filtered to its customers), on the same files. 20,000,000 rows of 50,000 customers over the month's day
files, each day the same resources' meters (a daily export's shape), eight ranges, on the demo config's prices
(and the USD rate of ``bench.rate_usage``).
``BENCH_SCALE=0.05`` runs 5 %. ``BENCH_DIR`` picks the folder (default: the system's temporary folder).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import demo_ledger, measure, scaled
from bench.rate_usage import FX, usage_rows
from bench.rate_usage_100m import DAYS, describe
from ledger.models import Customer
from ledger.shards import split
from ledger.usage_files import ParquetWriter, file_sha256, partition
from ledger.usage_sums import group_details, sum_files, write_groups
from rating.proration import PricePolicy
from rating.rounding import RoundingPolicy
from services.batches.desired import editions
from services.batches.timeline import Pricing
from services.batches.usage import GROUP_BY
from services.batches.usage_store import DESCRIBED, GroupFile, store_usage_lines
from services.operations import initialise
from services.prices import price_book
from services.runtime import dispose_engines, engine_for
from services.uow import UnitOfWork

CUSTOMERS = 50_000
RANGES = 8
MONTH = dt.date(2026, 5, 1)


def write_month(root: Path, count: int) -> list[str]:
    """``count`` rows over the month's day files, as the sync writes them: ``customer`` holds the ledger id and
    ``subscription`` is ``<customer id>/<Azure subscription>``; each day the same resources' meters."""
    files = []
    per_day = -(-count // DAYS)
    resources = pa.Table.from_pandas(usage_rows(per_day, customers=CUSTOMERS), preserve_index=False)
    ids = pc.cast(pc.add(pc.cast(pc.utf8_slice_codeunits(pc.cast(resources["customer"], pa.string()), 5),
                                 pa.int64()), 1), pa.string())
    external = pc.cast(resources["subscription"], pa.string())
    resources = (resources.set_column(1, "customer", ids)
                 .set_column(2, "subscription", pc.binary_join_element_wise(ids, external, "/"))
                 .append_column("subscription_external_id", external)
                 .append_column("subscription_id", pa.nulls(per_day, pa.int64()))
                 .append_column("tags", pa.repeat(pa.scalar("{}"), per_day)))
    for day in range(1, DAYS + 1):
        rows = min(per_day, count - per_day * (day - 1))
        if rows <= 0:
            break
        costs = pa.Table.from_pandas(usage_rows(rows, customers=CUSTOMERS, seed=day), preserve_index=False)
        table = resources.slice(0, rows).set_column(0, "row_id", pc.cast(pc.add(costs["row_id"], per_day * (day - 1)),
                                                                         pa.string()))
        table = describe(table.set_column(table.schema.get_field_index("cost_units"), "cost_units",
                                          costs["cost_units"]), MONTH.replace(day=day))
        writer = ParquetWriter(root, partition("nl-bv", MONTH, f"azure-2026-05-{day:02d}"), table.schema)
        writer.write(table)
        files.append(writer.close().path)
    return files


def run(root: Path) -> None:
    count = scaled(20_000_000)
    files = write_month(root, count)
    settings = demo_ledger(root)
    initialise(settings)
    tenant = settings.tenant("nl-bv")
    policy = settings.rating_for(tenant)
    with UnitOfWork(engine_for(settings)) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        book = price_book("nl-bv", uow.prices.rules("nl-bv"), [], uow.prices.config_imports(), [])
        pricing = Pricing(book, editions(uow, "nl-bv", tenant_id), PricePolicy(policy.price_change))
    customers = {n: Customer(id=n, tenant_id=tenant_id, name=f"Customer {n}", country="NL")
                 for n in range(1, CUSTOMERS + 1)}
    shards = split(list(customers), RANGES)
    rounding = RoundingPolicy(policy.rounding_for(tenant.currency))
    with measure("build_usage_ranges", count, ranges=RANGES, customers=CUSTOMERS):
        write_groups(root, files, root / "groups.parquet", GROUP_BY, DESCRIBED)
        # lineage: a build names the usage file set it stored (the bench's files have no manifest)
        month = GroupFile(MONTH, "groups.parquet", file_sha256(root / "groups.parquet"), ("usage_file_set:1",))
        problems: list[str] = []
        lines, net = 0, Decimal(0)
        for shard in shards:  # a build holds one range's lines at a time
            rated = store_usage_lines("nl-bv", root, [month], {n: customers[n] for n in customers if shard.holds(n)},
                                      pricing, FX, rounding, tenant.currency, problems, shard=shard)
            lines, net = lines + len(rated), net + sum(line.amount for line in rated)
    print(f"lines={lines} group_file_rows={pq.read_metadata(root / 'groups.parquet').num_rows} net={net} "
          f"problems={len(problems)}", flush=True)
    keys = {str(n): str(n) for n in customers}
    with measure("build_usage_ranges_per_range_scans", count, ranges=RANGES, customers=CUSTOMERS):
        for shard in shards:
            sum_files(root, files, (), GROUP_BY, customer_keys=keys, shard=shard)
            group_details(root, files, GROUP_BY, DESCRIBED, customer_keys=keys, shard=shard)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="build-usage-ranges-", dir=os.environ.get("BENCH_DIR")) as folder:
        try:
            run(Path(folder))
        finally:
            dispose_engines()


if __name__ == "__main__":
    main()
