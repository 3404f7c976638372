"""Cost Management Query API rows as usage records: numbers, days, resource ids and the side-query joins.

Why apart from ``connectors.azure_costs``: that module decides which queries run and how they are paged and retried;
this one only turns the rows they return into ``UsageRecord``s, with no I/O. A Query API number arrives as a float and
is kept as the ``Decimal`` of its shortest repr (microsoft.md §4.3); subscription and resource group come out of the
resource id; each row gets a deterministic ``row_key`` (customer, subscription, day, resource, meter, currency) so a
re-rated day replaces the stored row instead of adding to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.records import FieldReader, UsageRecord


def number(item: FieldReader, column: str) -> Decimal:
    """A Query API float as an exact ``Decimal`` of its shortest repr (``Decimal(repr(x))``, §4.3)."""
    value = item.get(column)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise item.fail(column, f"expected a number, got {value!r}")
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise item.fail(column, f"not a number: {value!r}") from None
    if not result.is_finite():
        raise item.fail(column, f"not a finite number: {value!r}")
    return result


def _usage_day(item: FieldReader) -> dt.date:
    value = item.get("UsageDate")
    try:
        return dt.datetime.strptime(str(int(value)), "%Y%m%d").date()
    except (TypeError, ValueError):
        raise item.fail("UsageDate", f"not a yyyymmdd day: {value!r}") from None


def _resource_parts(resource_id: str) -> tuple[str, str | None]:
    """(subscription id, resource group) from ``/subscriptions/{s}/resourceGroups/{rg}/…`` (any case)."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    subscription = parts[lowered.index("subscriptions") + 1] if "subscriptions" in lowered[:-1] else ""
    group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None
    return subscription.lower(), group.lower() if group else None


def index(rows: Iterable[dict[str, Any]], key: tuple[str, ...], value: str) -> dict[tuple, Any]:
    """``value`` of each row keyed by the lower-cased ``key`` columns: a side query ready to be joined."""
    return {tuple(str(row.get(k, "")).lower() for k in key): row.get(value) for row in rows}


@dataclass(frozen=True)
class Lookups:
    """What the side queries found, keyed by lower-cased ids: joined onto each cost row."""

    quantities: dict[tuple, Any]  # (UsageDate, ResourceId, MeterId, Currency) -> quantity
    meter_names: dict[tuple, Any]  # (MeterId,) -> Meter
    categories: dict[tuple, Any]  # (MeterId,) -> MeterCategory
    locations: dict[tuple, Any]  # (ResourceId,) -> ResourceLocation
    tags: dict[tuple, dict[str, str]]  # (UsageDate, ResourceId) -> {tag key: value}


def usage_record(source: str, item: FieldReader, customer: str, lookups: Lookups) -> UsageRecord:
    """One cost row (by resource and meter, per day) with its quantity, meter, location and tags joined on."""
    day = _usage_day(item)
    cost = number(item, "Cost")
    currency = item.currency("Currency")
    resource_id = item.maybe_text("ResourceId") or ""
    meter_id = item.text("MeterId")
    subscription, group = _resource_parts(resource_id)
    key = (str(item.get("UsageDate")), resource_id.lower(), meter_id.lower(), currency.lower())
    raw_quantity = lookups.quantities.get(key)
    quantity = (
        Decimal(0)
        if raw_quantity is None
        else number(FieldReader(source, item.record_id, {"UsageQuantity": raw_quantity}), "UsageQuantity")
    )
    row_key = hashlib.sha256(
        "|".join(
            (source, customer, subscription, day.isoformat(), resource_id.lower(), meter_id.lower(), currency)
        ).encode()
    ).hexdigest()[:40]
    row_tags = lookups.tags.get((item.get("UsageDate"), resource_id.lower()), {})
    location = lookups.locations.get((resource_id.lower(),))
    return UsageRecord(
        source=source,
        row_key=row_key,
        customer_external_id=customer,
        subscription_external_id=subscription,
        usage_date=day,
        meter_id=meter_id,
        meter_name=str(lookups.meter_names.get((meter_id.lower(),)) or meter_id),
        meter_category=str(lookups.categories.get((meter_id.lower(),)) or ""),
        resource_group=group,
        resource_location=str(location) if location else None,
        tags=tuple(sorted(row_tags.items())),
        quantity=quantity,
        cost=cost,
        currency=currency,
        raw={**item.raw, "UsageQuantity": raw_quantity},
    )
