"""Benchmark: the usage a month-end build in ranges of customers reads from the Parquet usage store.

A build rates a large legal entity a range of customers at a time (``compute.partition_customers``, or Dask
partitions). It sums each usage month once into a group file (``ledger.usage_sums.write_groups``: a row per
customer, subscription, meter, markup scope and currency), then every range sums and describes its own customers
from that file (``sum_files`` and ``group_details`` with ``grouped``), as ``services.batches.usage_store`` does. Before,
every range scanned all of the month's rows twice; that cost is printed beside it (``..._per_range_scans``) for
comparison, on the same files. 20,000,000 rows of 50,000 customers over the month's day files, eight ranges.
``BENCH_SCALE=0.05`` runs 5 %. ``BENCH_DIR`` picks the folder (default: the system's temporary folder).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bench.common import measure, scaled
from bench.rate_usage import MARKUPS, usage_rows
from bench.rate_usage_100m import DAYS, describe
from ledger.shards import split
from ledger.usage_files import ParquetWriter, partition
from ledger.usage_sums import group_details, sum_files, write_groups
from services.batches.usage import GROUP_BY
from services.batches.usage_store import DESCRIBED

CUSTOMERS = 50_000
RANGES = 8


def write_month(root: Path, count: int) -> list[str]:
    """``count`` rows over the month's day files, the ``customer`` column holding ledger ids as the sync writes:
    each day the same resources' meters (a daily export's shape), at other costs."""
    files = []
    per_day = -(-count // DAYS)
    resources = pa.Table.from_pandas(usage_rows(per_day, customers=CUSTOMERS), preserve_index=False)
    ids = pc.cast(pc.add(pc.cast(pc.utf8_slice_codeunits(pc.cast(resources["customer"], pa.string()), 5),
                                 pa.int64()), 1), pa.string())
    resources = resources.set_column(1, "customer", ids)
    for day in range(1, DAYS + 1):
        rows = min(per_day, count - per_day * (day - 1))
        if rows <= 0:
            break
        costs = pa.Table.from_pandas(usage_rows(rows, customers=CUSTOMERS, seed=day), preserve_index=False)
        table = resources.slice(0, rows).set_column(0, "row_id", pc.cast(pc.add(costs["row_id"], per_day * (day - 1)),
                                                                         pa.string()))
        table = describe(table.set_column(table.schema.get_field_index("cost_units"), "cost_units",
                                          costs["cost_units"]), date(2026, 5, day))
        table = (table.append_column("subscription_id", pa.nulls(table.num_rows, pa.int64()))
               .append_column("subscription_external_id", pc.cast(table["subscription"], pa.string()))
               .append_column("tags", pa.repeat(pa.scalar("{}"), table.num_rows)))
        writer = ParquetWriter(root, partition("de01", date(2026, 5, day), f"azure-2026-05-{day:02d}"), table.schema)
        writer.write(table)
        files.append(writer.close().path)
    return files


def main() -> None:
    count = scaled(20_000_000)
    keys = {str(n): f"cust-{n - 1:05d}" for n in range(1, CUSTOMERS + 1)}
    shards = split(list(range(1, CUSTOMERS + 1)), RANGES)
    rules = MARKUPS.in_force("de01", date(2026, 5, 31))
    with tempfile.TemporaryDirectory(prefix="build-usage-ranges-", dir=os.environ.get("BENCH_DIR")) as folder:
        root = Path(folder)
        files = write_month(root, count)

        def per_range(names: list[str], grouped: bool) -> int:
            groups = 0
            for shard in shards:
                sums = sum_files(root, names, rules, GROUP_BY, customer_keys=keys, shard=shard,
                                 grouped=files if grouped else None)
                groups += len(group_details(root, names, GROUP_BY, DESCRIBED, customer_keys=keys, shard=shard,
                                            grouped=grouped))
                assert sums
            return groups

        with measure("build_usage_ranges", count, ranges=RANGES, customers=CUSTOMERS):
            write_groups(root, files, root / "groups.parquet", GROUP_BY, DESCRIBED)
            groups = per_range(["groups.parquet"], grouped=True)
        print(f"groups={groups} group_file_rows={pa.parquet.read_metadata(root / 'groups.parquet').num_rows}",
              flush=True)
        with measure("build_usage_ranges_per_range_scans", count, ranges=RANGES, customers=CUSTOMERS):
            assert per_range(files, grouped=False) == groups


if __name__ == "__main__":
    main()
