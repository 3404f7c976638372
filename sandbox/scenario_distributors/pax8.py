"""The seeded Pax8 partner world: companies, products, subscriptions with seat timelines, invoices and Azure usage.

Why here: ``sandbox.pax8`` serves it; payload dicts use Pax8's wire field names (distributors.md §2.3), including
its mixed date-time formats, so the sandbox only adds the seat counts and settings of the moment.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.scenario_distributors.catalogue import (
    AZURE_PRODUCT,
    CITIES,
    COMPANY_NAMES,
    LICENCE_PRODUCTS,
    ONE_TIME_PRODUCT,
    TRIAL_PRODUCT,
    USD_PRODUCT,
    random_uuid,
)
from sandbox.scenario_distributors.seats import SeatTimeline, moment, month_end_of, schedule_month

_METERS = (("Virtual Machines", "D2s v5", "1 Hour", "0.0960"), ("Storage", "LRS Data Stored", "1 GB/Month", "0.0208"),
           ("Bandwidth", "Data Transfer Out", "1 GB", "0.0870"))


def mixed_instant(moment: dt.datetime, style: int) -> str:
    """Pax8 date-times arrive as ``…Z``, with colon-less offsets, with ``+hh:mm`` or date-only (§2.6)."""
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}-0000"
    if style == 2:
        return moment.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(timespec="seconds")
    return moment.date().isoformat()


@dataclass
class Pax8World:
    """Seeded Pax8 partner data; subscription ``quantity`` and ``updatedDate`` come from ``seats`` at serve time."""

    month_start: dt.date
    companies: list[dict[str, Any]]
    products: dict[str, dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    seats: dict[str, SeatTimeline]
    invoices: list[dict[str, Any]]
    invoice_items: dict[str, list[dict[str, Any]]]
    usage_summaries: list[dict[str, Any]]
    extra_draft_items: list[dict[str, Any]] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # role -> subscription id, for tests and the demo
    cancellations: dict[str, dt.datetime] = field(default_factory=dict)  # subscription id -> cancelled at


def pax8_world(seed: int, month_start: dt.date) -> Pax8World:
    """Build the Pax8 world for one seed and month (12 EUR companies, about 45 subscriptions, one of them in USD)."""
    rng = random.Random(f"pax8:{seed}")
    created = moment(month_start - dt.timedelta(days=95), 9)
    companies = []
    for index in range(12):
        city, country = CITIES[index % len(CITIES)]
        companies.append({
            "id": random_uuid(rng),
            "name": f"{COMPANY_NAMES[(index + seed) % len(COMPANY_NAMES)]} {index + 1:02d}",
            "address": {"street": f"Marktstraat {index + 3}", "street2": None, "city": city,
                        "stateOrProvince": None, "postalCode": f"{1000 + 37 * index}", "country": country},
            "phone": f"+31 30 {200000 + index:06d}",
            "website": None,
            "externalId": f"DEB-{10001 + index}",
            "billOnBehalfOfEnabled": True,
            "selfServiceAllowed": False,
            "orderApprovalRequired": False,
            "status": "Active" if index != 11 else "Inactive",
            "updatedDate": mixed_instant(created, index % 3),
            "contacts": [],
        })
    products: dict[str, dict[str, Any]] = {}

    def product(spec: tuple[str, str, str, str]) -> dict[str, Any]:
        for existing in products.values():
            if existing["name"] == spec[0]:
                return existing
        entry = {"id": random_uuid(rng), "name": spec[0], "vendorName": "Microsoft", "vendorSkuId": spec[1],
                 "partnerCost": Decimal(spec[2]), "price": Decimal(spec[3])}
        products[entry["id"]] = entry
        return entry

    subscriptions: list[dict[str, Any]] = []
    seats: dict[str, SeatTimeline] = {}
    named: dict[str, str] = {}

    def subscribe(company: dict[str, Any], item: dict[str, Any], billing_term: str, commitment: str | None,
                  quantity: int, status: str = "Active", role: str | None = None,
                  currency: str = "EUR", bought: dt.datetime | None = None) -> dict[str, Any]:
        index = len(subscriptions)
        start = moment(month_start - dt.timedelta(days=rng.randint(20, 300)), 0)
        start = bought or start  # drawn anyway: the rest of the world stays as it was
        term_end = None
        if commitment:
            years = 3 if commitment == "3-Year" else 1
            term_end = (start.date().replace(year=start.year + years) - dt.timedelta(days=1)).isoformat()
        subscription = {
            "id": random_uuid(rng), "companyId": company["id"], "productId": item["id"], "parentSubscriptionId": None,
            "vendorSubscriptionId": random_uuid(rng), "vendorSkuId": item["vendorSkuId"],
            "startDate": mixed_instant(start, index % 4), "endDate": None,
            "createdDate": mixed_instant(start - dt.timedelta(days=3), 0),
            "billingStart": start.date().isoformat(), "status": status,
            "price": item["price"], "partnerCost": item["partnerCost"], "currencyCode": currency,
            "productName": item["name"], "billingTerm": billing_term,
            "commitmentTerm": {"id": f"ct-{index}", "term": commitment, "endDate": term_end} if commitment else None,
            "provisioningDetails": [],
        }
        subscriptions.append(subscription)
        seats[subscription["id"]] = SeatTimeline(quantity, created)
        if role:
            named[role] = subscription["id"]
        return subscription

    premium = product(LICENCE_PRODUCTS[2])
    first = companies[0]
    monthly = subscribe(first, premium, "Monthly", None, 12, role="monthly_nce")
    subscribe(first, premium, "Annual", "1-Year", 20, role="annual")
    seats[monthly["id"]].schedule(moment(month_start + dt.timedelta(days=1), 11), 14)
    subscribe(companies[1], product(LICENCE_PRODUCTS[1]), "Monthly", "1-Year", 6, "PendingCancel", "pending_cancel")
    subscribe(companies[2], product(TRIAL_PRODUCT), "Trial", None, 25, "Trial", "trial")
    # a one-time purchase during the month (billed once, in this month)
    subscribe(companies[3], product(ONE_TIME_PRODUCT), "One-Time", None, 3, role="one_time",
              bought=moment(month_start + dt.timedelta(days=5), 10))
    azure = subscribe(companies[4], product(AZURE_PRODUCT), "Monthly", None, 1, role="azure")
    for company in companies:
        for _ in range(rng.randint(2, 4)):
            term, commitment = rng.choice((("Monthly", None), ("Monthly", "1-Year"), ("Monthly", "1-Year"),
                                           ("Annual", "1-Year"), ("Annual", "3-Year")))
            subscribe(company, product(rng.choice(LICENCE_PRODUCTS)), term, commitment, rng.randint(1, 40))
    subscribe(companies[5], product(LICENCE_PRODUCTS[0]), "Monthly", None, 4, "Cancelled", "cancelled")
    recurring = {s["id"] for s in subscriptions if s["billingTerm"] in ("Monthly", "Annual")
                 and s["status"] == "Active" and s["id"] != azure["id"]}
    for subscription in subscriptions:
        if subscription["id"] in recurring and subscription["id"] != monthly["id"]:
            grow_only = subscription["commitmentTerm"] is not None
            schedule_month(rng, seats[subscription["id"]], month_start, grow_only)
    invoices, items = _pax8_invoices(rng, month_start, companies, subscriptions, seats)
    usage = _pax8_usage(rng, azure)
    # Drawn last, so the rest of the world stays as it was: an offer Pax8 bills in US dollars, bought for a company
    # of the euro book (the reseller converts it onto the company's normal invoice).
    subscribe(first, product(USD_PRODUCT), "Monthly", None, 5, role="usd", currency="USD")
    # bought on the 8th and cancelled the next day, inside the vendor's window: credited in full
    returned = subscribe(companies[6], product(ONE_TIME_PRODUCT), "One-Time", None, 1, role="one_time_cancelled",
                         bought=moment(month_start + dt.timedelta(days=7), 10))
    cancellations = {returned["id"]: moment(month_start + dt.timedelta(days=8), 15)}
    seats[returned["id"]].schedule(cancellations[returned["id"]], 0)  # no seats left once cancelled
    # an annual term bought two days before the month (the year paid in advance) and cancelled on the 2nd, inside
    # the vendor's 7-day window: the reseller credits the rest of the year
    regretted = subscribe(companies[2], premium, "Annual", "1-Year", 20, role="annual_cancelled",
                          bought=moment(month_start - dt.timedelta(days=2), 10))
    cancellations[regretted["id"]] = moment(month_start + dt.timedelta(days=1), 9)
    seats[regretted["id"]].schedule(cancellations[regretted["id"]], 0)
    return Pax8World(month_start, companies, products, subscriptions, seats, invoices, items, usage, named=named,
                     cancellations=cancellations)


def _pax8_invoices(rng: random.Random, month_start: dt.date, companies: list[dict[str, Any]],
                   subscriptions: list[dict[str, Any]], seats: dict[str, SeatTimeline],
                   ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Last month's partner invoice per company: one ``subscription`` item per recurring line, one ``prorate``."""
    previous_start = (month_start - dt.timedelta(days=1)).replace(day=1)
    previous_end = month_start - dt.timedelta(days=1)
    invoices: list[dict[str, Any]] = []
    items: dict[str, list[dict[str, Any]]] = {}
    for number, company in enumerate(companies):
        invoice_id = f"{900100 + number}"
        lines = []
        for subscription in subscriptions:
            if subscription["companyId"] != company["id"] or subscription["billingTerm"] not in ("Monthly", "Annual"):
                continue
            quantity = Decimal(seats[subscription["id"]].initial)
            lines.append(_pax8_item(f"{invoice_id}-{len(lines) + 1}", company, subscription, "subscription",
                                    previous_start, previous_end, quantity))
        if lines and number == 0:
            lines.append(_pax8_item(f"{invoice_id}-{len(lines) + 1}", company, subscriptions[0], "prorate",
                                    previous_start.replace(day=17), previous_end, Decimal(2)))
        total = sum((line["subTotal"] for line in lines), Decimal(0))
        invoices.append({
            "id": invoice_id, "invoiceDate": (month_start + dt.timedelta(days=4)).isoformat(),
            "dueDate": (month_start + dt.timedelta(days=34)).isoformat(), "balance": total,
            "carriedBalance": Decimal(0), "total": total, "currencyCode": "EUR",
            "partnerName": "Sandbox Reseller BV", "companyId": company["id"],
            "externalId": company["externalId"], "status": rng.choice(("Unpaid", "Paid")),
        })
        items[invoice_id] = lines
    return invoices, items


def _pax8_item(item_id: str, company: dict[str, Any], subscription: dict[str, Any], kind: str,
               start: dt.date, end: dt.date, quantity: Decimal) -> dict[str, Any]:
    """One invoice item; ``prorate`` items charge the days of the stretch out of the month (cost and price)."""
    share = Decimal(1)
    if kind == "prorate":
        share = Decimal((end - start).days + 1) / Decimal(month_end_of(start.replace(day=1)).day)
    cost = (subscription["partnerCost"] * share).quantize(Decimal("0.01"))
    price = (subscription["price"] * share).quantize(Decimal("0.01"))
    return {
        "id": item_id, "companyId": company["id"], "companyName": company["name"], "externalId": company["externalId"],
        "purchaseOrderNumber": None, "type": kind, "startPeriod": start.isoformat(), "endPeriod": end.isoformat(),
        "quantity": quantity, "unitOfMeasure": "User", "term": subscription["billingTerm"],
        "sku": subscription["vendorSkuId"], "description": subscription["productName"], "details": None,
        "productId": subscription["productId"], "productName": subscription["productName"], "vendorName": "Microsoft",
        "rateType": "Standard", "chargeType": "per", "price": price, "subTotal": price * quantity,
        "total": price * quantity, "cost": cost, "costTotal": cost * quantity, "offeredBy": "Pax8",
        "billedByPax8": True, "billingFee": Decimal(0), "billingFeeRate": Decimal(0), "amountDue": price * quantity,
        "currencyCode": subscription["currencyCode"], "salesTax": Decimal(0), "subscriptionId": subscription["id"],
    }


def prorate_item(item_id: str, company: dict[str, Any], subscription: dict[str, Any], when: dt.datetime,
                 delta: int) -> dict[str, Any]:
    """The ``prorate`` invoice item a seat change produces: from the change day to the end of its month."""
    day = when.date()
    return _pax8_item(item_id, company, subscription, "prorate", day, month_end_of(day.replace(day=1)),
                      Decimal(delta))


def month_item(item_id: str, company: dict[str, Any], subscription: dict[str, Any], start: dt.date,
               quantity: int) -> dict[str, Any]:
    """A draft ``subscription`` item for one month at the current seat count."""
    return _pax8_item(item_id, company, subscription, "subscription", start, month_end_of(start), Decimal(quantity))


def _pax8_usage(rng: random.Random, azure: dict[str, Any]) -> list[dict[str, Any]]:
    """Two usage summaries (resource groups) under the Azure plan; their daily lines come from ``usage_lines``."""
    return [
        {"id": random_uuid(rng), "companyId": azure["companyId"], "productId": azure["productId"],
         "subscriptionId": azure["id"], "resourceGroup": group, "vendorName": "Microsoft", "currencyCode": "EUR",
         "isTrial": False}
        for group in ("rg-production", "rg-test")
    ]


def usage_lines(seed: int, summary: dict[str, Any], day: dt.date) -> list[dict[str, Any]]:
    """Daily usage lines of one summary, derived from (seed, summary, day) so any day can be asked in any order."""
    rng = random.Random(f"usage:{seed}:{summary['id']}:{day.isoformat()}")
    lines = []
    for category, name, unit, rate in _METERS:
        quantity = Decimal(rng.randint(1, 4800)) / Decimal(100)
        partner = (quantity * Decimal(rate)).quantize(Decimal("0.000001"))
        charges = (partner * Decimal("1.15")).quantize(Decimal("0.000001"))
        lines.append({
            "usageSummaryId": summary["id"], "usageDate": day.isoformat(), "productName": f"{category} {name}",
            "productId": summary["productId"], "unitOfMeasure": unit, "quantity": quantity,
            "currentCharges": charges, "currentProfit": charges - partner, "partnerTotal": partner,
            "unitPrice": Decimal(rate), "currencyCode": "EUR", "isTrial": False,
        })
    return lines
