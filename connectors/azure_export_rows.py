"""Cost Management export files (CSV or Parquet partitions) as the same usage records the Query API path produces.

Why apart from ``connectors.azure_exports``: that module finds the run, the manifest and the blobs; this one only
reads a partition's bytes, checks them against the documented cost-and-usage-details columns (MCA schema, dates as
``MM/dd/yyyy``, ``tags`` a JSON object) and turns the Azure rows of the window into ``UsageRecord``s, with no I/O.

One mapping for both paths: each export row is summed per (day, resource, meter, currency), the grain of the Query
path's cost query, and handed to ``connectors.azure_rows.usage_record`` in the Query API's column names, with the
meter, location, quantity and tag look-ups built from the file itself. A number is read as the Query path reads one
(a float as the ``Decimal`` of its shortest repr, text exactly), so the same costs give the same rows and row keys.

A partition that breaks the contract (a documented column missing, a value of the wrong type) is refused whole: the
error names the source, the blob (and row) and the column, and none of its rows is returned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.azure_rows import Lookups, number, usage_record
from connectors.errors import MalformedRecord
from connectors.records import FieldReader, UsageRecord

# The documented columns this reader needs (names as the MCA cost-and-usage-details schema spells them).
REQUIRED = ("date", "meterId", "meterName", "meterCategory", "ResourceId", "resourceLocation", "quantity",
            "billingCurrency", "costInBillingCurrency", "tags", "publisherType")


def partition_rows(source: str, blob: str, content: bytes, file_format: str) -> list[dict[str, Any]]:
    """The rows of one partition as {column: value}; a file that cannot be read, or lacks a required column, is a
    ``MalformedRecord`` naming the blob (and the column)."""
    import pyarrow as pa  # here, not at the top: every command imports the connectors, only this read needs it
    import pyarrow.parquet as pq

    try:
        if file_format.lower() == "parquet":
            table = pq.read_table(io.BytesIO(content))
            columns, rows = table.column_names, table.to_pylist()
        else:
            reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
            columns, rows = list(reader.fieldnames or []), list(reader)
    except (UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise MalformedRecord(source, blob, "content", f"not a readable {file_format} file: {exc}") from None
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise MalformedRecord(source, blob, missing[0], "documented column missing from the export file")
    return rows


def _day(item: FieldReader) -> dt.date:
    value = item.get("date")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    for form in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(str(value), form).date()
        except ValueError:
            continue
    raise item.fail("date", f"not a MM/dd/yyyy day: {value!r}")


def _tags(item: FieldReader) -> dict[str, str]:
    value = item.get("tags")
    if value in (None, ""):
        return {}
    text = str(value).strip()
    try:
        parsed = json.loads(text if text.startswith("{") else "{" + text + "}")  # EA files leave out the braces
    except ValueError:
        raise item.fail("tags", f"not a JSON object: {value!r}") from None
    if not isinstance(parsed, dict):
        raise item.fail("tags", f"not a JSON object: {value!r}")
    return {str(k): str(v) for k, v in parsed.items()}


@dataclass
class _Cell:
    """One (day, resource, meter, currency) of the window: summed cost and quantity, and what describes it."""

    usage_date: int
    resource_id: str
    meter_id: str
    currency: str
    cost: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ExportUsage:
    """Usage rows gathered over every partition of one customer's export, mapped once all are read."""

    source: str
    customer: str
    first: dt.date
    last: dt.date
    tag_keys: tuple[str, ...]
    _cells: dict[tuple, _Cell] = field(default_factory=dict)
    _meter_names: dict[tuple, Any] = field(default_factory=dict)
    _categories: dict[tuple, Any] = field(default_factory=dict)
    _locations: dict[tuple, Any] = field(default_factory=dict)

    def add_partition(self, blob: str, rows: Iterable[dict[str, Any]]) -> int:
        """Check every row of one partition, then take its Azure rows of the window; returns how many were taken.

        The first row that breaks the contract raises ``MalformedRecord`` before anything of the file is kept.
        """
        checked = list(self._checked(blob, rows))
        for cell, meter_name, category, location in checked:
            key = (cell.usage_date, cell.resource_id.lower(), cell.meter_id.lower(), cell.currency)
            kept = self._cells.setdefault(key, _Cell(cell.usage_date, cell.resource_id, cell.meter_id, cell.currency))
            kept.cost += cell.cost
            kept.quantity += cell.quantity
            kept.tags.update(cell.tags)
            self._meter_names.setdefault((cell.meter_id.lower(),), meter_name)
            self._categories.setdefault((cell.meter_id.lower(),), category)
            self._locations.setdefault((cell.resource_id.lower(),), location)
        return len(checked)

    def _checked(self, blob: str, rows: Iterable[dict[str, Any]]) -> Iterator[tuple[_Cell, str, str, str]]:
        for number_in_file, row in enumerate(rows, start=2):  # row 1 is the CSV header
            item = FieldReader(self.source, f"{blob} row {number_in_file}", row)
            day = _day(item)
            cost, quantity = number(item, "costInBillingCurrency"), number(item, "quantity")
            currency = item.currency("billingCurrency")
            tags = _tags(item)
            if str(item.get("publisherType") or "").lower() != "azure" or not self.first <= day <= self.last:
                continue  # licences billed alongside Azure are Partner Center's; days outside the window are not read
            cell = _Cell(int(day.strftime("%Y%m%d")), item.maybe_text("ResourceId") or "", item.text("meterId"),
                         currency, cost, quantity, {k: v for k, v in tags.items() if k in self.tag_keys and v})
            yield cell, item.maybe_text("meterName") or "", item.maybe_text("meterCategory") or "", \
                item.maybe_text("resourceLocation") or ""

    def records(self) -> list[UsageRecord]:
        """The usage records, one per (day, resource, meter, currency), exactly as the Query path maps them."""
        lookups = Lookups(
            quantities={(str(c.usage_date), c.resource_id.lower(), c.meter_id.lower(), c.currency.lower()):
                        str(c.quantity) for c in self._cells.values()},
            meter_names=self._meter_names,
            categories=self._categories,
            locations=self._locations,
            tags={(c.usage_date, c.resource_id.lower()): c.tags for c in self._cells.values() if c.tags},
        )
        found = []
        for cell in self._cells.values():
            row = {"Cost": str(cell.cost), "ResourceId": cell.resource_id, "MeterId": cell.meter_id,
                   "UsageDate": cell.usage_date, "Currency": cell.currency}
            record_id = f"{cell.usage_date}|{cell.resource_id}|{cell.meter_id}"
            found.append(usage_record(self.source, FieldReader(self.source, record_id, row), self.customer, lookups))
        return found
