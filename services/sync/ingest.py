"""One complete pull into the ledger, inside the caller's unit of work (DESIGN §1, §3; billing-rules.md §9).

- **Customers** are resolved first (``services.sync.customers``), then **licences** become subscriptions and
  snapshots (``services.sync.licences``).
- **Usage rows** replace the whole trailing window the source re-read, keyed by (source, row key); **cost lines**
  are upserted by (source, line id); both leave identical rows untouched. Usage rows and cost lines never create
  customers: an unmatched one keeps ``customer_id`` empty and is flagged.

The mapping works on whole pulls with pre-loaded id maps and batched Core statements, so the same code serves the
nightly sync and the million-record benchmark (``bench/ingest_snapshots.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from connectors.records import CostLineRecord, UsageRecord
from ledger.json_text import payload_text
from ledger.types import canonical
from services.allocation import bulk_allocation
from services.sync.context import Counts, IngestContext
from services.sync.customers import CustomerResolver
from services.sync.licences import LicenceIngest
from services.sync.sources import SourcePull
from services.sync.usage_files import store_usage_files
from services.uow import UnitOfWork


def store_pull(uow: UnitOfWork, context: IngestContext, pulled: SourcePull) -> tuple[dict[str, int], list[dict]]:
    """Map one complete pull into the ledger (inside the caller's unit of work); returns counts and record errors."""
    with bulk_allocation():
        return _store(uow, context, pulled)


def _store(uow: UnitOfWork, context: IngestContext, pulled: SourcePull) -> tuple[dict[str, int], list[dict]]:
    result = pulled.result
    counts = Counts()
    errors = [
        {"record_id": e.record_id, "field": e.field, "problem": e.problem, "message": str(e)} for e in result.errors
    ]
    counts.add("errors", len(errors))
    customers = CustomerResolver(uow, context, counts)
    customers.resolve_all(result)
    subscriptions = LicenceIngest(uow, context, customers, counts)
    subscriptions.ingest(result.licences, skipped={e.record_id for e in result.errors})
    if result.usage or pulled.usage_window:
        _store_usage(uow, context, customers, subscriptions, result.usage, pulled.usage_window, counts,
                     keep_missing=bool(errors))
    if result.cost_lines:
        _store_cost_lines(uow, context, subscriptions, result.cost_lines, counts)
    return counts.values, errors


def _json_ready(raw: dict[str, Any]) -> dict[str, Any]:
    """Vendor payloads carry ``Decimal``s; the JSON column gets their text."""
    return json.loads(payload_text(raw))


def _store_usage(uow: UnitOfWork, context: IngestContext, customers: CustomerResolver, subscriptions: LicenceIngest,
                 usage: Sequence[UsageRecord], window: tuple[dt.date, dt.date] | None, counts: Counts,
                 keep_missing: bool) -> None:
    """Usage rows replace the window the source re-read; after refused records (a broken file, a malformed row) the
    days they held were not read, so nothing stored is removed this time (nothing lost; the next clean read does)."""
    days = [row.usage_date for row in usage]
    first = min([*days, *(window[:1] if window else ())])
    last = max([*days, *(window[1:] if window else ())])
    unmapped: dict[str, str] = {}
    rows = []
    for row in usage:
        customer_id = customers.lookup(row.customer_external_id)
        if customer_id is None:
            unmapped[row.customer_external_id] = row.subscription_external_id
        rows.append({
            "tenant_id": context.tenant_id,
            "customer_id": customer_id,
            "subscription_id": subscriptions.subscription_id(row.subscription_external_id),
            "row_key": row.row_key,
            "subscription_external_id": row.subscription_external_id,
            "usage_date": row.usage_date,
            "meter_id": row.meter_id,
            "meter_name": row.meter_name,
            "meter_category": row.meter_category,
            "resource_group": row.resource_group,
            "resource_location": row.resource_location,
            "tags": dict(row.tags),
            "quantity": canonical(row.quantity),
            "cost": canonical(row.cost),
            "currency": row.currency,
        })
    if context.usage_store is not None:
        store_usage_files(uow, context, rows, first, last, keep_missing, counts)
    else:
        replaced = uow.usage.replace_window(context.source, first, last, rows, context.run_id, keep_missing)
        counts.add("usage_inserted", replaced.inserted)
        counts.add("usage_updated", replaced.updated)
        counts.add("usage_removed", replaced.removed)
    for external_id, azure_subscription in unmapped.items():
        _, created = uow.discrepancies.raise_(
            f"unmapped_usage:{context.source}:{external_id}", context.as_of, tenant_id=context.tenant_id,
            kind="unmapped_usage", day=context.observed_on,
            sentence=(f"{context.source} usage of customer {external_id} (Azure subscription {azure_subscription}) "
                      f"matches no ledger customer; link the customer before billing its usage"),
            details={"source": context.source, "customer_external_id": external_id},
        )
        counts.add("discrepancies_raised", int(created))


def _store_cost_lines(uow: UnitOfWork, context: IngestContext, subscriptions: LicenceIngest,
                      lines: Sequence[CostLineRecord], counts: Counts) -> None:
    rows = [{
        "tenant_id": context.tenant_id,
        "subscription_id": subscriptions.subscription_id(line.subscription_external_id),
        "line_id": line.line_id,
        "customer_external_id": line.customer_external_id,
        "subscription_external_id": line.subscription_external_id,
        "product_id": line.product_id,
        "charge_type": line.charge_type,
        "charge_start": line.charge_start,
        "charge_end": line.charge_end,
        "quantity": canonical(line.quantity),
        "unit_price": canonical(line.unit_price),
        "subtotal": canonical(line.subtotal),
        "currency": line.currency,
        "reference_id": line.reference_id,
        "invoice_id": line.invoice_id,
        "billing_type": line.billing_type,
        "order_id": line.order_id,
        "ordered_on": line.ordered_on,
        "product_name": line.product_name,
        "raw": _json_ready(line.raw),
    } for line in {line.line_id: line for line in lines}.values()]
    stored = uow.cost_lines.upsert_many(context.source, rows, context.run_id)
    counts.add("cost_lines_inserted", stored.inserted)
    counts.add("cost_lines_updated", stored.updated)
