"""Consumption lines of a batch: a closed month's usage rows per subscription and meter, marked up, rounded once.

Usage is billed in arrears (billing-rules.md §8): the rows of month M−1 are billed by the batch of M. Rows are
summed exactly (Decimal) per (customer, subscription, month, meter), priced by the first matching price rule
(a fixed unit price, or cost plus markup by meter category), and rounded once per line by the tenant's policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ledger.models import Customer, Subscription, UsageRow
from rating.lineage import format_unrounded
from rating.rounding import RoundingPolicy, round_amount
from services.batch_lines import DesiredLine, base_key, exact_decimal, month_of
from services.batch_prices import HUNDRED, PriceBook


@dataclass
class _Bucket:
    customer: Customer
    subscription: int | str
    subscription_id: int | None
    month_start: dt.date
    meter_id: str
    meter_name: str
    meter_category: str
    product: str | None
    currency: str
    group: str
    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    row_ids: list[int] | None = None


def environment(tags: Mapping[str, str] | None, fallback: str) -> str:
    """The environment a usage row belongs to (tag ``environment`` or ``env``, any case), else its subscription."""
    for name, value in (tags or {}).items():
        if name.lower() in ("environment", "env") and value:
            return str(value)
    return fallback


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def usage_lines(tenant: str, rows: Sequence[UsageRow], customers: Mapping[int, Customer],
                subscriptions: Mapping[int, Subscription], prices: PriceBook, rounding: RoundingPolicy,
                currency: str, problems: list[str]) -> list[DesiredLine]:
    """Desired usage lines for ``rows``; rows that cannot be billed are reported in ``problems``."""
    buckets: dict[tuple, _Bucket] = {}
    for row in rows:
        sub = subscriptions.get(row.subscription_id) if row.subscription_id else None
        customer_id = row.customer_id or (sub.customer_id if sub else None)
        customer = customers.get(customer_id) if customer_id else None
        if customer is None:
            problems.append(f"usage row {row.id}: no customer for subscription {row.subscription_external_id!r}")
            continue
        if row.currency != currency:
            problems.append(f"usage row {row.id} currency: {row.currency} needs an FX rate to {currency}")
            continue
        month_start = row.usage_date.replace(day=1)
        subscription: int | str = row.subscription_id or f"ext:{row.subscription_external_id}"
        key = (customer.id, subscription, month_start, row.meter_id)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket(
                customer, subscription, row.subscription_id, month_start, row.meter_id, row.meter_name,
                row.meter_category, sub.product_id if sub else None, row.currency,
                environment(row.tags, row.subscription_external_id), row_ids=[])
        bucket.quantity += row.quantity
        bucket.cost += row.cost
        bucket.row_ids.append(row.id)
    lines = []
    for bucket in buckets.values():
        line = _price(tenant, bucket, prices, rounding, problems)
        if line is not None:
            lines.append(line)
    return lines


def _price(tenant: str, bucket: _Bucket, prices: PriceBook, rounding: RoundingPolicy,
           problems: list[str]) -> DesiredLine | None:
    month_end = _month_end(bucket.month_start)
    found = prices.rule(bucket.customer, month_end, product=bucket.product, meter_category=bucket.meter_category)
    if found is None:
        problems.append(f"usage of subscription {bucket.subscription} meter {bucket.meter_id!r}: no price rule")
        return None
    index, rule = found
    if rule.unit_price is not None:
        unrounded = Fraction(bucket.quantity) * Fraction(rule.unit_price)
        unit_price = rule.unit_price
        formula = f"{bucket.quantity} × {rule.unit_price} (price_rules[{index}] fixed)"
    else:
        unrounded = Fraction(bucket.cost) * Fraction(HUNDRED + rule.markup_percent) / 100
        unit_price = exact_decimal(unrounded / Fraction(bucket.quantity)) if bucket.quantity else Decimal(0)
        formula = f"{bucket.cost} cost × (100 + {rule.markup_percent}) / 100 (price_rules[{index}])"
    amount = round_amount(unrounded, bucket.currency, rounding).amount
    period_from, period_to = bucket.month_start, month_end
    bill_month = month_of(month_end + dt.timedelta(days=1))
    lineage = {
        "input_ids": [f"usage_row:{row_id}" for row_id in sorted(bucket.row_ids or [])],
        "price_version": f"price_rules[{index}]",
        "convention": None,
        "formula": formula,
        "unrounded": format_unrounded(unrounded),
        "unrounded_exact": f"{unrounded.numerator}/{unrounded.denominator}",
        "rounding": rounding.value,
        "details": {"meter": bucket.meter_name, "meter_category": bucket.meter_category,
                    "cost": str(bucket.cost), "timing": "arrears"},
        "bill_date": f"{bill_month}-01",
    }
    return DesiredLine(
        base_key=base_key(tenant, bucket.customer.id, bucket.subscription, period_from, period_to,
                          f"usage:{bucket.meter_id}"),
        customer_id=bucket.customer.id,
        subscription_id=bucket.subscription_id,
        charge_kind="usage",
        period_from=period_from,
        period_to=period_to,
        bill_month=bill_month,
        description=f"{bucket.meter_name} ({bucket.meter_category}) {month_of(period_from)}",
        quantity=bucket.quantity,
        unit_price=unit_price,
        amount=amount,
        unrounded=exact_decimal(unrounded),
        currency=bucket.currency,
        lineage=lineage,
        group=bucket.group,
    )
