"""Consumption lines of a batch: a closed month's usage rows priced by ``rating.consumption`` and keyed for the ledger.

Usage is billed in arrears (billing-rules.md §8): the rows of month M−1 are billed by the batch of M. Per usage month,
``rating.usage_frames.rate_usage`` sums the rows exactly per (customer and subscription, meter), applies the markup
that ``rating.pricing`` resolves for the tenant's price rules and the recorded exchange rate, and rounds each line
once by the tenant's policy. This module builds its input frame from ledger rows and turns its lines into keyed
ledger lines (quantity summed here, exactly, for the invoice text).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ledger.models import Customer, Subscription, UsageRow
from rating.consumption import COST_DECIMALS, UsageLine
from rating.money import to_units
from rating.months import month_end, month_of
from rating.pricing import FxTable
from rating.rounding import RoundingPolicy
from services.batches.lines import DesiredLine, base_key, exact_decimal, exact_ratio
from services.batches.timeline import Pricing
from services.prices.book import priced

GROUP_BY = ("subscription", "meter")


def environment(tags: Mapping[str, str] | None, fallback: str) -> str:
    """The environment a usage row belongs to (tag ``environment`` or ``env``, any case), else its subscription."""
    for name, value in (tags or {}).items():
        if name.lower() in ("environment", "env") and value:
            return str(value)
    return fallback


def usage_lines(tenant: str, rows: Sequence[UsageRow], customers: Mapping[int, Customer],
                subscriptions: Mapping[int, Subscription], pricing: Pricing, fx: FxTable, rounding: RoundingPolicy,
                currency: str, problems: list[str]) -> list[DesiredLine]:
    """Desired usage lines for ``rows``; rows that cannot be billed are reported in ``problems``. A month's markups
    are read from the edition of the price book its bill month was (or will be) invoiced with."""
    import pandas as pd  # here, not at the top: every CLI command imports this module, only a build rates usage

    from rating.usage_frames import rate_usage

    by_month: dict[dt.date, list[dict]] = defaultdict(list)
    known: dict[str, UsageRow] = {}
    for row in rows:
        sub = subscriptions.get(row.subscription_id) if row.subscription_id else None
        customer_id = row.customer_id or (sub.customer_id if sub else None)
        customer = customers.get(customer_id) if customer_id else None
        if customer is None:
            problems.append(f"usage row {row.id}: no customer for subscription {row.subscription_external_id!r}")
            continue
        month = row.usage_date.replace(day=1)
        try:
            fx.rate(row.currency, currency, month_end(month))
        except KeyError:
            problems.append(f"usage row {row.id} currency: no {row.currency}->{currency} rate in fx_rates")
            continue
        row_id = f"usage_row:{row.id}"
        known[row_id] = row
        subscription = row.subscription_id or f"ext:{row.subscription_external_id}"
        by_month[month].append({
            "row_id": row_id, "customer": priced(customer).key, "subscription": f"{customer.id}/{subscription}",
            "meter": row.meter_id, "meter_category": row.meter_category, "currency": row.currency,
            "cost_units": to_units(row.cost, COST_DECIMALS)})
    lines = []
    for month, frame_rows in sorted(by_month.items()):
        frame = pd.DataFrame(frame_rows)
        frame["cost_units"] = frame["cost_units"].astype("int64")
        edition, reprice = pricing.editions.at(month_end(month) + dt.timedelta(days=1))
        markups = pricing.book.markups.known_at(edition)
        for rated in rate_usage(frame, tenant=tenant, currency=currency, group_by=GROUP_BY, markups=markups,
                                fx=fx, on=month_end(month), rounding=rounding):
            line = _desired(tenant, month, rated, known)
            if reprice is not None:
                line.lineage["reprice"] = reprice.describe()
            lines.append(line)
    return lines


@dataclass(frozen=True)
class Described:
    """What describes a usage line beyond its price: its earliest row's meter, subscription and tags, and the exact
    sums of its rows' quantity and cost."""

    meter_name: str
    meter_category: str
    subscription_id: int | None
    subscription_external_id: str
    tags: Mapping[str, str] | None
    quantity: Decimal
    cost: Decimal


def _desired(tenant: str, month: dt.date, rated: UsageLine, known: Mapping[str, UsageRow]) -> DesiredLine:
    members = [known[str(row_id)] for row_id in rated.lineage.input_ids]
    first = members[0]
    return desired_line(tenant, month, rated, Described(
        first.meter_name, first.meter_category, first.subscription_id, first.subscription_external_id, first.tags,
        sum((row.quantity for row in members), Decimal(0)), sum((row.cost for row in members), Decimal(0))))


@functools.lru_cache(maxsize=64)
def _month_texts(month: dt.date) -> tuple[dt.date, str, str]:
    """A usage month's last day, the month it is billed in (the next) and its own ``YYYY-MM``: once per month."""
    last = month_end(month)
    return last, month_of(last + dt.timedelta(days=1)), month_of(month)


def _unit_price(unrounded: Fraction, quantity: Decimal) -> Decimal:
    """The exact amount per unit of usage as the ledger stores it (no quantity: 0), without a ``Fraction``
    division per line (the stored value depends on the ratio's value only)."""
    if not quantity:
        return Decimal(0)
    numerator, denominator = quantity.as_integer_ratio()
    return exact_ratio(unrounded.numerator * denominator, unrounded.denominator * numerator)


def desired_line(tenant: str, month: dt.date, rated: UsageLine, about: Described) -> DesiredLine:
    """The keyed ledger line of one rated usage group of ``month``, whichever store its rows came from."""
    group = dict(rated.group)
    customer, subscription = group["subscription"].split("/", 1)
    quantity = about.quantity
    last, bill_month, month_text = _month_texts(month)
    lineage = rated.lineage.to_dict()
    lineage["bill_date"] = f"{bill_month}-01"
    lineage["details"] = {**lineage["details"], "meter": about.meter_name, "meter_category": about.meter_category,
                          "cost": str(about.cost), "timing": "arrears"}
    return DesiredLine(
        base_key=base_key(tenant, int(customer), subscription, month, last, f"usage:{group['meter']}"),
        customer_id=int(customer),
        subscription_id=about.subscription_id,
        charge_kind="usage",
        period_from=month,
        period_to=last,
        bill_month=bill_month,
        description=f"{about.meter_name} ({about.meter_category}) {month_text}"[:500],
        quantity=quantity,
        unit_price=_unit_price(rated.unrounded, quantity),
        amount=rated.amount.amount,
        unrounded=exact_decimal(rated.unrounded),
        currency=rated.amount.currency,
        lineage=lineage,
        group=environment(about.tags, about.subscription_external_id),
    )
