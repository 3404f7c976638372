"""The seeded Ingram Micro Cloud Marketplace reseller world: customers, plans, subscriptions with seat timelines.

Why here: ``sandbox.ingram`` serves it; payload dicts use the CMP wire field names (distributors.md §3.3): string
money with four decimals, date-only fields, subscription and billing periods.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.scenario_distributors.catalogue import CITIES, COMPANY_NAMES, LICENCE_PRODUCTS, random_uuid
from sandbox.scenario_distributors.seats import SeatTimeline, moment, schedule_month

NCE_WINDOW = dt.timedelta(hours=168)  # seats added this long ago can no longer be reduced (microsoft.md §3.5)


@dataclass
class IngramWorld:
    """Seeded CMP reseller data; ``products[].quantity`` comes from ``seats[(subscription id, product id)]``."""

    month_start: dt.date
    customers: list[dict[str, Any]]
    plans: dict[str, dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    seats: dict[tuple[str, str], SeatTimeline]
    reports: list[dict[str, Any]]
    named: dict[str, str] = field(default_factory=dict)


_PERIODS = {
    "monthly": ({"type": "month", "duration": 1}, {"type": "month", "duration": 1}),
    "annual_monthly": ({"type": "year", "duration": 1}, {"type": "month", "duration": 1}),
    "annual": ({"type": "year", "duration": 1}, {"type": "year", "duration": 1}),
    "triennial": ({"type": "year", "duration": 3}, {"type": "year", "duration": 1}),
}


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the 28th so every month has it (term anniversaries)."""
    index = day.month - 1 + months
    return dt.date(day.year + index // 12, index % 12 + 1, min(day.day, 28))


def money(amount: Decimal) -> dict[str, str]:
    """CMP money: a string with four decimals, in EUR."""
    return {"amount": f"{amount.quantize(Decimal('0.0001'))}", "currency": "EUR"}


def ingram_world(seed: int, month_start: dt.date) -> IngramWorld:
    """Build the CMP world for one seed and month (10 EUR customers, about 30 subscriptions, one with an add-on)."""
    rng = random.Random(f"ingram:{seed}")
    created = moment(month_start - dt.timedelta(days=120), 9)
    customers = []
    for index in range(10):
        city, country = CITIES[(index + 2) % len(CITIES)]
        customers.append({
            "id": f"{1002201 + index}", "externalId": f"DEB-{20001 + index}",
            "name": f"{COMPANY_NAMES[(index + 5 + seed) % len(COMPANY_NAMES)]} {index + 1:02d}",
            "status": "active" if index != 9 else "creditHold",
            "address": {"streetAddress": f"Hauptstraße {index + 1}", "city": city, "postalCode": f"{5000 + index}",
                        "countryCode": country},
            "contactPersons": [], "language": "de", "taxRegId": f"{country}{100000000 + index}", "attributes": [],
        })
    plans = {}
    for number, (kind, (subscription_period, billing_period)) in enumerate(_PERIODS.items()):
        plan_id = f"{88210 + number}"
        plans[plan_id] = {"id": plan_id, "name": f"Microsoft CSP NCE ({kind})",
                          "subscriptionPeriods": [subscription_period], "billingPeriod": billing_period,
                          "billingModel": "chargeBeforeBillingPeriod", "planSwitches": []}
    plan_by_kind = dict(zip(_PERIODS, plans, strict=True))
    subscriptions: list[dict[str, Any]] = []
    seats: dict[tuple[str, str], SeatTimeline] = {}
    named: dict[str, str] = {}

    def subscribe(customer: dict[str, Any], kind: str, specs: list[tuple[tuple[str, str, str, str], int]],
                  status: str = "active", role: str | None = None) -> dict[str, Any]:
        subscription_id = f"{1004700 + len(subscriptions)}"
        begin = month_start - dt.timedelta(days=rng.randint(20, 300))
        subscription_period, billing_period = _PERIODS[kind]
        step = subscription_period["duration"] * (12 if subscription_period["type"] == "year" else 1)
        renewal = _add_months(begin, step)
        while renewal <= month_start:
            renewal = _add_months(renewal, step)
        expiration = renewal - dt.timedelta(days=1)
        suffix = "_MONTHLY" if kind == "monthly" else ("_TRIENNIAL" if kind == "triennial" else "_ANNUAL")
        products = []
        for spec, quantity in specs:
            name, sku, cost, price = spec
            product_id = sku.split(":")[0] + suffix.replace("_", "-")
            products.append({
                "id": product_id, "mpn": f"{uuid.UUID(int=rng.getrandbits(128), version=4)}{suffix}",
                "vendor": "Microsoft", "name": f"{name} ({kind.replace('_', ', billed ')})",
                "unitPrice": money(Decimal(price)), "unitCost": money(Decimal(cost)),
                "unitProviderCost": money(Decimal(cost) * Decimal("0.98")),
                "vendorSubscriptionId": random_uuid(rng),
            })
            seats[(subscription_id, product_id)] = SeatTimeline(quantity, created)
        subscription = {
            "id": subscription_id, "name": products[0]["name"], "customerId": customer["id"], "status": status,
            "attributes": [], "renewalStatus": kind != "monthly" or rng.random() < 0.8,
            "creationDate": begin.isoformat(), "renewalDate": renewal.isoformat(),
            "lastModifiedDate": created.date().isoformat(), "planId": plan_by_kind[kind],
            "expirationDate": expiration.isoformat(), "subscriptionPeriod": subscription_period,
            "billingPeriod": billing_period, "billingModel": "chargeBeforeBillingPeriod",
            "orderParameters": [], "fulfillmentParameters": [], "products": products,
        }
        subscriptions.append(subscription)
        if role:
            named[role] = subscription_id
        return subscription

    first = customers[0]
    monthly = subscribe(first, "monthly", [(LICENCE_PRODUCTS[3], 25)], role="monthly")
    seats[(monthly["id"], monthly["products"][0]["id"])].schedule(moment(month_start + dt.timedelta(days=1), 10), 27)
    subscribe(first, "annual_monthly", [(LICENCE_PRODUCTS[2], 10), (LICENCE_PRODUCTS[4], 4)], role="two_products")
    subscribe(customers[1], "annual", [(LICENCE_PRODUCTS[1], 7)], "hold", "hold")
    subscribe(customers[2], "monthly", [(LICENCE_PRODUCTS[0], 3)], "terminated", "terminated")
    subscribe(customers[3], "monthly", [(LICENCE_PRODUCTS[0], 5)], "pending", "pending")
    for customer in customers:
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(("monthly", "annual_monthly", "annual_monthly", "annual", "triennial"))
            subscribe(customer, kind, [(rng.choice(LICENCE_PRODUCTS), rng.randint(1, 60))])
    for subscription in subscriptions:
        if subscription["status"] != "active" or subscription["id"] == monthly["id"]:
            continue
        grow_only = subscription["subscriptionPeriod"]["type"] == "year"
        for line in subscription["products"]:  # every plan is NCE: monthly terms reduce only inside the window
            schedule_month(rng, seats[(subscription["id"], line["id"])], month_start, grow_only, NCE_WINDOW)
    previous = (month_start - dt.timedelta(days=1)).replace(day=1)
    reports = [{"id": f"rep-{seed}-1", "name": f"Every Invoice - {previous:%Y-%m}", "type": "monthly",
                "format": "json", "status": "completed", "startDate": previous.isoformat(),
                "endDate": (month_start - dt.timedelta(days=1)).isoformat()}]
    return IngramWorld(month_start, customers, plans, subscriptions, seats, reports, named)
