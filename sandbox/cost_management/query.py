"""What a Cost Management query may ask for and how its parts are read: types, timeframes, aggregations,
dimensions, groupings and ``In`` filters, with ARM's error answers for what it refuses.

Why apart from the route: these are the documented limits (microsoft.md §4: at most two aggregations and two
groupings, ``In`` filters only); the route evaluates a query against the scenario once this module accepts it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandbox.core import Response
from sandbox.scenario_microsoft import add_months

TYPES = {"actualcost", "amortizedcost", "usage", "focuscost"}
TIMEFRAMES = {
    "custom",
    "monthtodate",
    "billingmonthtodate",
    "thelastmonth",
    "thelastbillingmonth",
    "weektodate",
    "thecurrentmonth",
}
AGGREGATIONS = {
    "cost": "Cost",
    "costusd": "CostUSD",
    "pretaxcost": "PreTaxCost",
    "pretaxcostusd": "PreTaxCostUSD",
    "usagequantity": "UsageQuantity",
}
DIMENSIONS = (
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroupName",
    "ResourceGroup",
    "ResourceId",
    "ResourceLocation",
    "ServiceName",
    "MeterId",
    "Meter",
    "MeterCategory",
    "MeterSubcategory",
    "ChargeType",
    "PublisherType",
    "PricingModel",
    "CustomerName",
    "PartnerEarnedCreditApplied",
)
USD_RATE = Decimal("1.0812")  # fixed EUR→USD rate for the *USD aggregations


def arm_error(status: int, code: str, message: str) -> Response:
    """ARM's error envelope."""
    return Response(status, {"error": {"code": code, "message": message}})


def invalid_query(detail: str) -> Response:
    """The 400 Cost Management sends for a query definition it refuses."""
    return arm_error(400, "BadRequest", f"Invalid query definition: {detail}")


def months_spanned(first: dt.date, last: dt.date) -> int:
    """How many calendar months [first, last] touches (what a query costs in QPU)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def query_period(body: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date] | Response:
    """The [first, last] days a query's ``timeframe`` (and ``timePeriod``) asks for, or the 400 to send."""
    timeframe = str(body.get("timeframe", "")).lower()
    if timeframe not in TIMEFRAMES:
        return invalid_query(f"timeframe '{body.get('timeframe')}' is not supported.")
    month = today.replace(day=1)
    if timeframe == "custom":
        period = body.get("timePeriod") or {}
        try:
            first = dt.datetime.fromisoformat(str(period["from"])).date()
            last = dt.datetime.fromisoformat(str(period["to"])).date()
        except (KeyError, ValueError):
            return invalid_query("timePeriod with 'from' and 'to' is required for timeframe Custom.")
        if last < first:
            return invalid_query("timePeriod 'to' is before 'from'.")
        return first, last
    if timeframe in ("thelastmonth", "thelastbillingmonth"):
        start = add_months(month, -1)
        return start, month - dt.timedelta(days=1)
    if timeframe == "weektodate":
        return today - dt.timedelta(days=today.weekday()), today
    if timeframe == "thecurrentmonth":
        return month, add_months(month, 1) - dt.timedelta(days=1)
    return month, today


def matches(fact: dict[str, Any], expression: dict[str, Any]) -> bool | str:
    """Evaluate a filter expression; a string return is the validation error."""
    if "and" in expression or "or" in expression:
        key = "and" if "and" in expression else "or"
        parts = expression[key]
        if not isinstance(parts, list) or len(parts) < 2:
            return f"'{key}' needs at least two expressions."
        results = [matches(fact, part) for part in parts]
        errors = [r for r in results if isinstance(r, str)]
        if errors:
            return errors[0]
        return all(results) if key == "and" else any(results)
    for key in ("dimensions", "tags"):
        if key in expression:
            clause = expression[key]
            if str(clause.get("operator", "")).lower() != "in":
                return f"operator '{clause.get('operator')}' is not supported, use In."
            values = {str(v).lower() for v in clause.get("values") or []}
            name = str(clause.get("name", ""))
            if key == "tags":
                value = fact["tags"].get(name)
            else:
                dimension = next((d for d in DIMENSIONS if d.lower() == name.lower()), None)
                if dimension is None:
                    return f"dimension '{name}' is not valid for this scope."
                value = fact[dimension]
            return value is not None and str(value).lower() in values
    return "a filter needs 'and', 'or', 'dimensions' or 'tags'."


def grouping_columns(grouping: list[dict[str, Any]]) -> list[tuple[str, str, str]] | Response:
    """(column name, kind, source name) per grouping; a TagKey grouping yields TagKey and TagValue columns."""
    columns: list[tuple[str, str, str]] = []
    for group in grouping:
        kind, name = str(group.get("type", "")), str(group.get("name", ""))
        if kind.lower() == "tagkey":
            columns += [("TagKey", "tagkey", name), ("TagValue", "tagvalue", name)]
        elif kind.lower() == "dimension":
            dimension = next((d for d in DIMENSIONS if d.lower() == name.lower()), None)
            if dimension is None:
                return invalid_query(f"grouping dimension '{name}' is not valid for this scope.")
            columns.append((dimension, "dimension", dimension))
        else:
            return invalid_query(f"grouping type '{kind}' is not supported.")
    return columns
