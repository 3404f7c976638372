"""Deterministic, seeded worlds for the Pax8 and Ingram CMP sandboxes: customers, subscriptions and a month of seats.

Why a generator instead of fixtures: night-by-night syncs must see different seat counts, so every seat-bearing
line carries a ``SeatTimeline`` of dated changes across the scenario month; the sandbox answers with the count at its
clock's "now". The same seed and month always give the same world, so tests and the demo can name what they expect.
Everything is in EUR; payload dicts use the vendors' wire field names (distributors.md §2.3, §3.3).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

UTC = dt.UTC

_COMPANY_NAMES = (
    "Brouwerij Noord", "Kaaswinkel Oost", "Fietsfabriek Delta", "Tandarts De Linde", "Bakkerij Vos", "Notariaat Hoog",
    "Schreinerei Adler", "Praxis Sonnenhof", "Logistik Rhein", "Atelier Lumière", "Cabinet Moreau", "Studio Riva",
    "Hotel Bellevue", "Garage Peeters", "Apotheek Zuid", "Installatiebedrijf Kok",
)
_CITIES = (("Utrecht", "NL"), ("Köln", "DE"), ("Gent", "BE"), ("Lyon", "FR"), ("Graz", "AT"), ("Haarlem", "NL"))

# (name, vendor sku, partner cost, customer price) per month and seat
_LICENCE_PRODUCTS = (
    ("Microsoft 365 Business Basic", "CFQ7TTC0LH18:0001", "5.10", "6.20"),
    ("Microsoft 365 Business Standard", "CFQ7TTC0LDPB:0001", "10.55", "12.70"),
    ("Microsoft 365 Business Premium", "CFQ7TTC0LCHC:0002", "18.20", "21.50"),
    ("Microsoft 365 E3", "CFQ7TTC0LFLX:0001", "30.40", "36.20"),
    ("Exchange Online (Plan 1)", "CFQ7TTC0LH16:0001", "3.45", "4.10"),
)
_ONE_TIME_PRODUCT = ("Windows 11 Pro Upgrade", "DG7GMGF0D3SJ:0003", "85.00", "99.00")
_TRIAL_PRODUCT = ("Power BI Pro (trial)", "CFQ7TTC0L3PB:0001", "0.00", "0.00")
_AZURE_PRODUCT = ("Azure plan", "DZH318Z0BPS6:0001", "0.00", "0.00")
_METERS = (("Virtual Machines", "D2s v5", "1 Hour", "0.0960"), ("Storage", "LRS Data Stored", "1 GB/Month", "0.0208"),
           ("Bandwidth", "Data Transfer Out", "1 GB", "0.0870"))


def month_start_of(now: dt.datetime) -> dt.date:
    """The first day of the scenario month: the month the sandbox clock is in when the world is built."""
    return now.date().replace(day=1)


def month_end_of(start: dt.date) -> dt.date:
    """The last day (inclusive) of the month starting at ``start``."""
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


class SeatTimeline:
    """Seat count of one subscription line over sandbox time: a starting count and dated changes.

    Changes are absolute counts, so an admin mutation at "now" and the scenario's scheduled changes share one list;
    ``at(now)`` answers what a sync at that instant must see, ``changes(now)`` the history visible by then.
    """

    def __init__(self, initial: int, since: dt.datetime) -> None:
        self.initial = initial
        self.since = since
        self._changes: list[tuple[dt.datetime, int]] = []
        self._lock = threading.Lock()

    def schedule(self, when: dt.datetime, quantity: int) -> None:
        with self._lock:
            self._changes.append((when, quantity))
            self._changes.sort(key=lambda change: change[0])

    def at(self, now: dt.datetime) -> int:
        with self._lock:
            quantity = self.initial
            for when, value in self._changes:
                if when > now:
                    break
                quantity = value
            return quantity

    def changes(self, now: dt.datetime) -> list[tuple[dt.datetime, int, int]]:
        """(when, previous, new) for every change visible at ``now``."""
        with self._lock:
            out: list[tuple[dt.datetime, int, int]] = []
            previous = self.initial
            for when, value in self._changes:
                if when > now:
                    break
                out.append((when, previous, value))
                previous = value
            return out

    def last_change(self, now: dt.datetime) -> dt.datetime:
        visible = self.changes(now)
        return visible[-1][0] if visible else self.since


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


def _schedule_month(rng: random.Random, timeline: SeatTimeline, start: dt.date, grow_only: bool) -> None:
    """Random working-hours seat changes across the month (annual NCE terms only grow mid-term)."""
    quantity = timeline.initial
    for offset in range(1, month_end_of(start).day):
        if rng.random() >= 0.18:
            continue
        step = rng.choice((1, 1, 2, 3) if grow_only else (-2, -1, -1, 1, 1, 2, 3))
        quantity = max(1, quantity + step)
        timeline.schedule(_at(start + dt.timedelta(days=offset), rng.randint(8, 17), rng.randint(0, 59)), quantity)


def mixed_instant(moment: dt.datetime, style: int) -> str:
    """Pax8 date-times arrive as ``…Z``, with colon-less offsets, with ``+hh:mm`` or date-only (§2.6)."""
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}-0000"
    if style == 2:
        return moment.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(timespec="seconds")
    return moment.date().isoformat()


# Pax8


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


def pax8_world(seed: int, month_start: dt.date) -> Pax8World:
    """Build the Pax8 world for one seed and month (12 EUR companies, about 45 subscriptions)."""
    rng = random.Random(f"pax8:{seed}")
    created = _at(month_start - dt.timedelta(days=95), 9)
    companies = []
    for index in range(12):
        city, country = _CITIES[index % len(_CITIES)]
        companies.append({
            "id": _uuid(rng),
            "name": f"{_COMPANY_NAMES[(index + seed) % len(_COMPANY_NAMES)]} {index + 1:02d}",
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
        entry = {"id": _uuid(rng), "name": spec[0], "vendorName": "Microsoft", "vendorSkuId": spec[1],
                 "partnerCost": Decimal(spec[2]), "price": Decimal(spec[3])}
        products[entry["id"]] = entry
        return entry

    subscriptions: list[dict[str, Any]] = []
    seats: dict[str, SeatTimeline] = {}
    named: dict[str, str] = {}

    def subscribe(company: dict[str, Any], item: dict[str, Any], billing_term: str, commitment: str | None,
                  quantity: int, status: str = "Active", role: str | None = None) -> dict[str, Any]:
        index = len(subscriptions)
        start = _at(month_start - dt.timedelta(days=rng.randint(20, 300)), 0)
        term_end = None
        if commitment:
            years = 3 if commitment == "3-Year" else 1
            term_end = (start.date().replace(year=start.year + years) - dt.timedelta(days=1)).isoformat()
        subscription = {
            "id": _uuid(rng), "companyId": company["id"], "productId": item["id"], "parentSubscriptionId": None,
            "vendorSubscriptionId": _uuid(rng), "vendorSkuId": item["vendorSkuId"],
            "startDate": mixed_instant(start, index % 4), "endDate": None,
            "createdDate": mixed_instant(start - dt.timedelta(days=3), 0),
            "billingStart": start.date().isoformat(), "status": status,
            "price": item["price"], "partnerCost": item["partnerCost"], "currencyCode": "EUR",
            "productName": item["name"], "billingTerm": billing_term,
            "commitmentTerm": {"id": f"ct-{index}", "term": commitment, "endDate": term_end} if commitment else None,
            "provisioningDetails": [],
        }
        subscriptions.append(subscription)
        seats[subscription["id"]] = SeatTimeline(quantity, created)
        if role:
            named[role] = subscription["id"]
        return subscription

    premium = product(_LICENCE_PRODUCTS[2])
    first = companies[0]
    monthly = subscribe(first, premium, "Monthly", None, 12, role="monthly_nce")
    subscribe(first, premium, "Annual", "1-Year", 20, role="annual")
    seats[monthly["id"]].schedule(_at(month_start + dt.timedelta(days=1), 11), 14)
    subscribe(companies[1], product(_LICENCE_PRODUCTS[1]), "Monthly", "1-Year", 6, "PendingCancel", "pending_cancel")
    subscribe(companies[2], product(_TRIAL_PRODUCT), "Trial", None, 25, "Trial", "trial")
    subscribe(companies[3], product(_ONE_TIME_PRODUCT), "One-Time", None, 3, role="one_time")
    azure = subscribe(companies[4], product(_AZURE_PRODUCT), "Monthly", None, 1, role="azure")
    for company in companies:
        for _ in range(rng.randint(2, 4)):
            term, commitment = rng.choice((("Monthly", None), ("Monthly", "1-Year"), ("Monthly", "1-Year"),
                                           ("Annual", "1-Year"), ("Annual", "3-Year")))
            subscribe(company, product(rng.choice(_LICENCE_PRODUCTS)), term, commitment, rng.randint(1, 40))
    subscribe(companies[5], product(_LICENCE_PRODUCTS[0]), "Monthly", None, 4, "Cancelled", "cancelled")
    recurring = {s["id"] for s in subscriptions if s["billingTerm"] in ("Monthly", "Annual")
                 and s["status"] == "Active" and s["id"] != azure["id"]}
    for subscription in subscriptions:
        if subscription["id"] in recurring and subscription["id"] != monthly["id"]:
            grow_only = subscription["commitmentTerm"] is not None
            _schedule_month(rng, seats[subscription["id"]], month_start, grow_only)
    invoices, items = _pax8_invoices(rng, month_start, companies, subscriptions, seats)
    usage = _pax8_usage(rng, azure)
    return Pax8World(month_start, companies, products, subscriptions, seats, invoices, items, usage, named=named)


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
        "currencyCode": "EUR", "salesTax": Decimal(0), "subscriptionId": subscription["id"],
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
        {"id": _uuid(rng), "companyId": azure["companyId"], "productId": azure["productId"],
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


# Ingram Micro Cloud Marketplace


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


def _money(amount: Decimal) -> dict[str, str]:
    return {"amount": f"{amount.quantize(Decimal('0.0001'))}", "currency": "EUR"}


def ingram_world(seed: int, month_start: dt.date) -> IngramWorld:
    """Build the CMP world for one seed and month (10 EUR customers, about 30 subscriptions, one with an add-on)."""
    rng = random.Random(f"ingram:{seed}")
    created = _at(month_start - dt.timedelta(days=120), 9)
    customers = []
    for index in range(10):
        city, country = _CITIES[(index + 2) % len(_CITIES)]
        customers.append({
            "id": f"{1002201 + index}", "externalId": f"DEB-{20001 + index}",
            "name": f"{_COMPANY_NAMES[(index + 5 + seed) % len(_COMPANY_NAMES)]} {index + 1:02d}",
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
                "unitPrice": _money(Decimal(price)), "unitCost": _money(Decimal(cost)),
                "unitProviderCost": _money(Decimal(cost) * Decimal("0.98")),
                "vendorSubscriptionId": _uuid(rng),
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
    monthly = subscribe(first, "monthly", [(_LICENCE_PRODUCTS[3], 25)], role="monthly")
    seats[(monthly["id"], monthly["products"][0]["id"])].schedule(_at(month_start + dt.timedelta(days=1), 10), 27)
    subscribe(first, "annual_monthly", [(_LICENCE_PRODUCTS[2], 10), (_LICENCE_PRODUCTS[4], 4)], role="two_products")
    subscribe(customers[1], "annual", [(_LICENCE_PRODUCTS[1], 7)], "hold", "hold")
    subscribe(customers[2], "monthly", [(_LICENCE_PRODUCTS[0], 3)], "terminated", "terminated")
    subscribe(customers[3], "monthly", [(_LICENCE_PRODUCTS[0], 5)], "pending", "pending")
    for customer in customers:
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(("monthly", "annual_monthly", "annual_monthly", "annual", "triennial"))
            subscribe(customer, kind, [(rng.choice(_LICENCE_PRODUCTS), rng.randint(1, 60))])
    for subscription in subscriptions:
        if subscription["status"] != "active" or subscription["id"] == monthly["id"]:
            continue
        grow_only = subscription["subscriptionPeriod"]["type"] == "year"
        for line in subscription["products"]:
            _schedule_month(rng, seats[(subscription["id"], line["id"])], month_start, grow_only)
    previous = (month_start - dt.timedelta(days=1)).replace(day=1)
    reports = [{"id": f"rep-{seed}-1", "name": f"Every Invoice - {previous:%Y-%m}", "type": "monthly",
                "format": "json", "status": "completed", "startDate": previous.isoformat(),
                "endDate": (month_start - dt.timedelta(days=1)).isoformat()}]
    return IngramWorld(month_start, customers, plans, subscriptions, seats, reports, named)
