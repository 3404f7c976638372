"""Benchmark: 100,000,000 Azure usage rows rated out of core from the partitioned Parquet usage store.

The month is written first (not timed): numpy-generated rows as in ``bench.rate_usage`` (5,000 customers, 400
meters, six categories, two currencies, an ``environment`` tag), in chunks, to day files of the store
(``tenant=de01/month=2026-05/azure-<day>.parquet``) in a temporary folder. Then the same function the batch build
calls (``services.batches.usage_store.rate_usage_files``) groups them in DuckDB within a 1 GB memory limit and
prices the sums with markups and FX, grouped by customer and environment. Goal: ≤ 120 s and ≤ 2 GB peak. Then
``rate_usage_100m_details``: the second pass a build makes over the same files to describe each line (exact quantity
sum, the earliest row's meter name and category; ``ledger.usage_sums.group_details``).
``BENCH_SCALE=0.01`` runs 1 %. ``BENCH_DIR`` picks the folder (default: the system's temporary folder).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bench.common import measure, scaled
from bench.rate_usage import FX, MARKUPS, usage_rows
from ledger.usage_files import ParquetWriter, partition
from ledger.usage_sums import group_details
from rating.rounding import RoundingPolicy
from services.batches.usage_store import rate_usage_files

GROUP_BY = ["customer", "tag_environment"]
DESCRIBED = ["meter_name", "meter_category"]  # what a build reads of a group's first row to describe its line

CHUNK = 2_000_000
DAYS = 31


def write_month(root: Path, count: int) -> list[str]:
    """``count`` rows spread over the month's day files, written chunk by chunk (memory stays one chunk)."""
    files = []
    per_day = -(-count // DAYS)
    written = 0
    for day in range(1, DAYS + 1):
        rows = min(per_day, count - written)
        if rows <= 0:
            break
        writer = None
        for offset in range(0, rows, CHUNK):
            frame = usage_rows(min(CHUNK, rows - offset), seed=day * 1_000 + offset // CHUNK)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.set_column(0, "row_id", pc.cast(pc.add(table["row_id"], written + offset), pa.string()))
            table = describe(table, date(2026, 5, day))
            if writer is None:
                writer = ParquetWriter(root, partition("de01", date(2026, 5, day), f"azure-2026-05-{day:02d}"),
                                       table.schema)
            writer.write(table)
        assert writer is not None
        files.append(writer.close().path)
        written += rows
    return files


def describe(table: pa.Table, day: date) -> pa.Table:
    """The columns the sync adds for describing a line: the day, the meter's name and a quantity as decimal text."""
    quantity = pc.cast(pc.divide(pc.cast(table["cost_units"], pa.float64()), 1e6), pa.string())
    return (table.append_column("usage_date", pa.repeat(pa.scalar(day, pa.date32()), table.num_rows))
            .append_column("meter_name", pc.cast(table["meter"], pa.string()))
            .append_column("quantity", quantity))


def main() -> None:
    count = scaled(100_000_000)
    with tempfile.TemporaryDirectory(prefix="rate-usage-100m-", dir=os.environ.get("BENCH_DIR")) as folder:
        root = Path(folder)
        with measure("rate_usage_100m_write", count):
            files = write_month(root, count)
        size_mb = sum(path.stat().st_size for path in root.rglob("*.parquet")) / 2**20
        with measure("rate_usage_100m", count, files=len(files), parquet_mb=f"{size_mb:.0f}"):
            lines = rate_usage_files(root, files, tenant="de01", currency="EUR",
                                     group_by=GROUP_BY, markups=MARKUPS, fx=FX,
                                     on=date(2026, 5, 31), rounding=RoundingPolicy.HALF_UP, memory_limit="1GB")
        print(f"lines={len(lines)} rows={sum(line.rows for line in lines)} "
              f"total={sum(line.amount.amount for line in lines)}", flush=True)
        with measure("rate_usage_100m_details", count, files=len(files)):
            details = group_details(root, files, GROUP_BY, DESCRIBED, memory_limit="1GB")
        print(f"described groups={len(details)} quantity={sum(item['quantity'] for item in details.values())}",
              flush=True)


if __name__ == "__main__":
    main()
