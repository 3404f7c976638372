"""What a daily Cost Management export has written by a given moment: its runs, manifests and partition files.

Why one pure module: the ARM sandbox answers ``exports/{name}`` and ``runHistory`` from these runs, and the storage
sandbox serves the files they wrote; both must agree with each other and with the Query API, so both derive them from
the same scenario facts and the same clock here.

The export modelled is the one Microsoft recommends for partners: per customer scope (MPA exports are offered at
customer, subscription and resource-group scope), actual cost, daily granularity, scheduled daily as month-to-date,
``partitionData`` on and ``dataOverwriteBehavior`` ``OverwritePreviousReport`` (the newest run of a month replaces the
files of the earlier ones). Each run writes ``{root}/{export}/{yyyymmdd-yyyymmdd}/{runId}/`` with a ``manifest.json``
in the documented shape (manifestVersion 2024-04-01: exportConfig, deliveryConfig, runInfo, blobs with blobName,
byteCount, dataRowCount) and partitions ``part_{n}_0001.csv`` or ``.parquet``. Microsoft partitions by size
(``partitionData``: "exported data will be partitioned by size") and tells clients never to assume partition
boundaries; so does this sandbox: a partition closes once its rows' CSV text reaches ``partition_bytes`` (a day's rows
may straddle two partitions). Contract tests set it small so readers see many partitions.
During the first five days of a month a second, unlisted run rewrites the previous month as Microsoft documents.

Columns are the documented names of the MCA cost-and-usage-details schema (version 2023-12-01-preview): dates as
``MM/dd/yyyy``, ``tags`` as a JSON object, costs in full float precision.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sandbox.scenario_microsoft import MicrosoftScenario, add_months

EXPORT_NAME = "cspbill-daily-actual"
CONTAINER = "cost-exports"
STORAGE_ACCOUNT = "cspbillexports"  # the delivery destination named by every export definition
STORAGE_ACCOUNT_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-billing/providers/"
                      f"Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}")
DATA_VERSION = "2023-12-01-preview"
RUN_AT = dt.time(0, 0)  # scheduled runs are submitted at midnight UTC …
RUN_TAKES = dt.timedelta(minutes=10)  # … and their files are complete ten minutes later
PARTITION_BYTES = 64 * 1024  # a partition's CSV text, at most (a single larger row still makes one partition)
COLUMNS = (
    "billingAccountId", "billingProfileId", "date", "serviceFamily", "meterId", "meterName", "meterCategory",
    "meterSubCategory", "ProductName", "SubscriptionId", "subscriptionName", "publisherType", "resourceGroupName",
    "ResourceId", "resourceLocation", "quantity", "unitOfMeasure", "chargeType", "billingCurrency",
    "costInBillingCurrency", "tags", "pricingModel",
)


@dataclass(frozen=True)
class ExportRun:
    """One run of a customer's export: what it covered and when it finished."""

    customer: str  # billing customer id
    run_id: str
    submitted: dt.datetime
    start: dt.date  # first day of the month it exports
    end: dt.date  # last day with data (inclusive)
    listed: bool  # shown in run history (the extra previous-month runs are not)

    @property
    def finished(self) -> dt.datetime:
        return self.submitted + RUN_TAKES

    @property
    def folder(self) -> str:
        month_end = add_months(self.start, 1) - dt.timedelta(days=1)
        return f"{self.customer}/{EXPORT_NAME}/{self.start:%Y%m%d}-{month_end:%Y%m%d}/{self.run_id}"


def customer_scope(world: MicrosoftScenario, billing_customer_id: str) -> str:
    return f"/providers/Microsoft.Billing/billingAccounts/{world.billing_account_id}/customers/{billing_customer_id}"


def runs(world: MicrosoftScenario, billing_customer_id: str, now: dt.datetime, *,
         running: bool = False) -> list[ExportRun]:
    """Every run of the customer's export finished by ``now`` (with ``running``: also the ones submitted and not yet
    finished), oldest first, scheduled from the scenario's previous month on."""
    found: list[ExportRun] = []
    day = add_months(world.month, -1)
    while day <= now.date():
        submitted = dt.datetime.combine(day, RUN_AT, dt.UTC)
        month = day.replace(day=1)
        plans = [(month, day - dt.timedelta(days=1), True)] if day.day > 1 else []
        if day.day <= 5 and add_months(month, -1) >= add_months(world.month, -1):
            previous = add_months(month, -1)
            plans.append((previous, month - dt.timedelta(days=1), day.day == 1))
        for start, end, listed in plans:
            seed = f"{world.seed}|{billing_customer_id}|{submitted.isoformat()}|{start}"
            run = ExportRun(billing_customer_id, str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest())), submitted,
                            start, end, listed)
            if run.finished <= now or (running and run.submitted <= now):
                found.append(run)
        day += dt.timedelta(days=1)
    return found


def export_format(world: MicrosoftScenario, billing_customer_id: str) -> str:
    """The file format of a customer's export: CSV and Parquet alternate over the customers, so both are read."""
    index = next(i for i, c in enumerate(world.customers) if c.billing_customer_id == billing_customer_id)
    return "Csv" if index % 2 == 0 else "Parquet"


def latest_per_month(all_runs: list[ExportRun]) -> list[ExportRun]:
    """The runs whose files are still there: OverwritePreviousReport keeps the newest run of each month."""
    newest: dict[dt.date, ExportRun] = {}
    for run in all_runs:
        newest[run.start] = run
    return list(newest.values())


def rows(world: MicrosoftScenario, run: ExportRun, day: dt.date) -> list[dict[str, Any]]:
    """One day's rows of a customer's export in the documented column names (Azure usage and, as in real partner
    data, the New Commerce licence purchases billed alongside it)."""
    now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), dt.UTC)
    facts = world.usage(day, day, now) + world.licence_facts(day, day, now)
    return [_row(world, fact) for fact in facts if fact["BillingCustomerId"] == run.customer]


def _row(world: MicrosoftScenario, fact: dict[str, Any]) -> dict[str, Any]:
    return {
        "billingAccountId": world.billing_account_id,
        "billingProfileId": "bp-eur",
        "date": fact["UsageDate"].strftime("%m/%d/%Y"),
        "serviceFamily": "Compute" if fact["PublisherType"] == "Azure" else "Office",
        "meterId": fact["MeterId"],
        "meterName": fact["Meter"],
        "meterCategory": fact["MeterCategory"],
        "meterSubCategory": fact["MeterSubcategory"],
        "ProductName": fact["Meter"],
        "SubscriptionId": fact["SubscriptionId"],
        "subscriptionName": fact["SubscriptionName"],
        "publisherType": fact["PublisherType"],
        "resourceGroupName": fact["ResourceGroupName"],
        "ResourceId": fact["ResourceId"],
        "resourceLocation": fact["ResourceLocation"],
        "quantity": float(fact["UsageQuantity"]),
        "unitOfMeasure": fact["UnitOfMeasure"],
        "chargeType": fact["ChargeType"],
        "billingCurrency": fact["Currency"],
        "costInBillingCurrency": float(fact["Cost"]),
        "tags": json.dumps(fact["tags"], sort_keys=True) if fact["tags"] else "",
        "pricingModel": fact["PricingModel"],
    }


def encode(day_rows: list[dict[str, Any]], file_format: str) -> bytes:
    """One partition: CSV with a header row (numbers in shortest float form), or Parquet (numbers as doubles)."""
    if file_format == "Parquet":
        table = pa.table({
            column: pa.array([r[column] for r in day_rows],
                             pa.float64() if column in ("quantity", "costInBillingCurrency") else pa.string())
            for column in COLUMNS
        })
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in day_rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return text.getvalue().encode("utf-8")


def warm_up() -> None:
    """Load what pyarrow imports on first use (about two seconds), so a server's first answer is as quick as later
    ones rather than slower than a client's read timeout."""
    encode([], "Parquet")


_CSV_HEADER = len(encode([], "Csv"))


def _csv_size(row: dict[str, Any]) -> int:
    """The bytes ``row`` takes in a CSV partition: the partitions' size measure, whatever the format."""
    return len(encode([row], "Csv")) - _CSV_HEADER


def files(world: MicrosoftScenario, run: ExportRun, file_format: str,
          partition_bytes: int = PARTITION_BYTES) -> dict[str, bytes]:
    """Blob name -> content of everything one run wrote: the rows of its days in date order, cut into partitions of
    about ``partition_bytes``, then its manifest."""
    extension = "parquet" if file_format == "Parquet" else "csv"
    parts: list[list[dict[str, Any]]] = [[]]
    size, day = 0, run.start
    while day <= run.end:
        for row in rows(world, run, day):
            row_size = _csv_size(row)
            if parts[-1] and size + row_size > partition_bytes:
                parts.append([])
                size = 0
            parts[-1].append(row)
            size += row_size
        day += dt.timedelta(days=1)
    written: dict[str, bytes] = {}
    blobs = []
    for index, part in enumerate(part for part in parts if part):
        name = f"{run.folder}/part_{index}_0001.{extension}"
        written[name] = encode(part, file_format)
        blobs.append({"blobName": name, "byteCount": len(written[name]), "dataRowCount": len(part)})
    scope = customer_scope(world, run.customer)
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(b["byteCount"] for b in blobs),
        "blobCount": len(blobs),
        "dataRowCount": sum(b["dataRowCount"] for b in blobs),
        "exportConfig": {
            "exportName": EXPORT_NAME,
            "resourceId": f"{scope}/providers/Microsoft.CostManagement/exports/{EXPORT_NAME}",
            "dataVersion": DATA_VERSION,
            "apiVersion": "2023-07-01-preview",
            "type": "ActualCost",
            "timeFrame": "MonthToDate",
            "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True,
            "dataOverwriteBehavior": "OverwritePreviousReport",
            "fileFormat": file_format,
            "compressionMode": "None",
            "containerUri": STORAGE_ACCOUNT_ID,
            "rootFolderPath": run.customer,
        },
        "runInfo": {
            "executionType": "Scheduled",
            "submittedTime": run.submitted.isoformat().replace("+00:00", "Z"),
            "runId": run.run_id,
            "startDate": f"{run.start.isoformat()}T00:00:00",
            "endDate": f"{(run.end + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
        },
        "blobs": blobs,
    }
    written[f"{run.folder}/manifest.json"] = json.dumps(manifest, indent=2).encode("utf-8")
    return written


def tamper(content: bytes, parquet: bool, *, drop: str | None = None, value: tuple[str, str] | None = None) -> bytes:
    """A partition broken on purpose (storage knobs): ``drop`` removes a column, ``value`` = (column, text) puts
    text into that column of the first row (in Parquet the column becomes a text column, as a writer with the wrong
    type would leave it)."""
    table = pq.read_table(io.BytesIO(content)) if parquet else None
    rows = table.to_pylist() if table is not None else list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    columns = [c for c in (table.column_names if table is not None else COLUMNS) if c != drop]
    rows = [{c: r[c] for c in columns} for r in rows]
    if value is not None and rows:
        for row in rows:
            row[value[0]] = str(row[value[0]])
        rows[0][value[0]] = value[1]
    if table is not None:
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        return sink.getvalue()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")
