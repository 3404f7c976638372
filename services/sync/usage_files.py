"""Usage rows of one pull written to the Parquet usage store (config ``usage.store: parquet``) instead of the
ledger table, one file per tenant, source and day, with the ledger's manifest row per file.

Why per day: the sync re-reads a trailing window of days each night and the window's rows replace what was stored
(``services.sync.ingest``). A day's file is written whole and renamed over the last one (``ledger.usage_files``), so
a re-run replaces, never doubles, and a day the source no longer reports becomes an empty file. After refused
records the window was not read completely: nothing is written that night (the ledger path keeps its rows the same
way), and the next clean read writes the days.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rating.consumption import COST_DECIMALS
from rating.money import to_units
from services.sync.context import Counts, IngestContext
from services.uow import UnitOfWork


def store_usage_files(uow: UnitOfWork, context: IngestContext, rows: Sequence[dict[str, Any]], first: dt.date,
                      last: dt.date, keep_missing: bool, counts: Counts) -> None:
    """Write the window ``first``..``last`` (inclusive) of ``rows`` (ledger usage-row dicts) as day files."""
    from ledger.usage_files import partition, usage_table, write_file  # pyarrow: only this store's syncs need it

    if keep_missing:
        counts.add("usage_days_deferred", (last - first).days + 1)
        return
    root = context.usage_store
    assert root is not None
    by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[row["usage_date"]].append(row)
    day = first
    while day <= last:
        day_rows = by_day.get(day, [])
        name = partition(str(context.tenant_id), day, f"{context.source}-{day.isoformat()}")
        stored = write_file(root, name, usage_table(_columns(day_rows)))
        uow.usage.record_file(context.tenant_id, context.source, day, stored, context.run_id)
        counts.add("usage_files_written")
        counts.add("usage_rows_stored", stored.rows)
        day += dt.timedelta(days=1)


def _columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[object]]:
    """The store's columns of ledger usage-row dicts: ``customer`` is the ledger customer id (the batch maps it to
    the key price rules use), ``subscription`` is ``<customer id>/<subscription id or ext:<Azure id>>`` as the
    batch groups it, tag columns ``tag_<name>`` for every tag the rows carry."""
    tag_names = sorted({name for row in rows for name in row["tags"]})
    columns: dict[str, list[object]] = {
        "row_id": [row["row_key"] for row in rows],
        "customer": [None if row["customer_id"] is None else str(row["customer_id"]) for row in rows],
        "subscription": [None if row["customer_id"] is None else
                         f"{row['customer_id']}/{row['subscription_id'] or 'ext:' + row['subscription_external_id']}"
                         for row in rows],
        "resource_group": [row["resource_group"] for row in rows],
        "meter": [row["meter_id"] for row in rows],
        "meter_category": [row["meter_category"] for row in rows],
        "currency": [row["currency"] for row in rows],
        "cost_units": [to_units(row["cost"], COST_DECIMALS) for row in rows],
        "usage_date": [row["usage_date"] for row in rows],
        "customer_id": [row["customer_id"] for row in rows],
        "subscription_id": [row["subscription_id"] for row in rows],
        "subscription_external_id": [row["subscription_external_id"] for row in rows],
        "meter_name": [row["meter_name"] for row in rows],
        "resource_location": [row["resource_location"] for row in rows],
        "quantity": [str(row["quantity"]) for row in rows],
        "tags": [json.dumps(row["tags"], sort_keys=True) for row in rows],
    }
    for name in tag_names:
        columns[f"tag_{name}"] = [row["tags"].get(name) or None for row in rows]
    return columns
