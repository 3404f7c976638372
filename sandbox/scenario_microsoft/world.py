"""The seeded Microsoft CSP world: customers, their NCE subscriptions and Azure resources, recon lines and usage.

Why one world: Partner Center (licences, recon line items) and Cost Management (Azure usage) must describe the
same customers with the same tenant ids; ``scenario`` caches one world per (seed, month) for both sandboxes.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sandbox.scenario_microsoft.one_time import CURRENCY, one_time_purchases, recon_item
from sandbox.scenario_microsoft.subscriptions import (
    PLANS,
    PRODUCTS,
    TERM_MONTHS,
    SeatEvent,
    Subscription,
    add_months,
    at_time,
    random_uuid,
    reference,
    trunc2,
)

# (name, category, subcategory, unit, price per unit); meter ids derive from the name.
METERS: tuple[tuple[str, str, str, str, Decimal], ...] = (
    ("D2s v5", "Virtual Machines", "Dsv5 Series", "1 Hour", Decimal("0.10912")),
    ("B2ms", "Virtual Machines", "BS Series", "1 Hour", Decimal("0.09153")),
    ("Hot LRS Data Stored", "Storage", "General Block Blob v2", "1 GB/Month", Decimal("0.0196")),
    ("P10 LRS Disk", "Storage", "Premium SSD Managed Disks", "1/Month", Decimal("0.66421")),
    ("S1 App", "Azure App Service", "Standard Plan", "1 Hour", Decimal("0.0951")),
    ("vCore", "SQL Database", "General Purpose - Compute Gen5", "1 Hour", Decimal("0.25331")),
    ("Standard Data Processed", "Load Balancer", "Standard", "1 GB", Decimal("0.00477")),
)
ENVIRONMENTS = ("Prod", "Test", "Dev")

COMPANIES = ("Fabrikam", "Northwind", "Contoso", "Tailspin", "Wingtip", "Litware", "Adatum", "Proseware")


@dataclass(frozen=True)
class Resource:
    """An Azure resource with its meters; ids are lower-case as Cost Management returns them."""

    id: str
    subscription_id: str
    subscription_name: str
    group: str
    location: str
    tags: tuple[tuple[str, str], ...]
    meters: tuple[tuple[str, str, str, str, str, Decimal], ...]  # (meter id, name, category, sub, unit, price)


@dataclass
class Customer:
    id: str  # the customer's Entra tenant id = Partner Center customer id
    company_name: str
    domain: str
    country: str
    billing_customer_id: str  # the customer's id under the MPA billing account
    subscriptions: list[Subscription] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)


class MicrosoftScenario:
    """Customers, NCE subscriptions and Azure usage for one seed, anchored on ``month`` (its first day)."""

    def __init__(self, seed: int, month: dt.date, customers: int = 6) -> None:
        self.seed = seed
        self.month = month.replace(day=1)
        self.month_end = add_months(self.month, 1) - dt.timedelta(days=1)
        rng = random.Random(seed)
        self.partner_id = random_uuid(rng)
        self.billing_account_id = f"{random_uuid(rng)}:{random_uuid(rng)}_2019-05-31"
        self.customers: list[Customer] = []
        self._usage_cache: dict[dt.date, list[dict]] = {}
        plan_index = 0
        for number in range(customers):
            name = f"{COMPANIES[number % len(COMPANIES)]} Example {number + 1}"
            slug = name.lower().replace(" ", "")
            customer = Customer(
                random_uuid(rng),
                f"{name} BV",
                f"{slug}.onmicrosoft.com",
                rng.choice(("NL", "DE", "BE")),
                random_uuid(rng),
            )
            count = len(PLANS) if number == 0 else rng.randint(2, 4)
            for _ in range(count):
                term, cycle = PLANS[plan_index % len(PLANS)]
                plan_index += 1
                customer.subscriptions.append(self._subscription(rng, customer.id, term, cycle))
            customer.resources = self._resources(rng, customer)
            self.customers.append(customer)
        self.one_time = one_time_purchases(seed, self.month, self.customers)
        self._bought_before_the_month(seed)

    def _bought_before_the_month(self, seed: int) -> None:
        """An annual E3 term the last customer bought three days before the month, paid for the year in advance:
        its 168-hour cancellation window reaches into the month (the demo's desk cancels it there). Drawn from its
        own generator, so the rest of the world stays as it was."""
        rng = random.Random(f"bought-before:{seed}")
        owner = self.customers[-1]
        purchased = at_time(self.month - dt.timedelta(days=3), dt.time(16, 20))
        sub = Subscription(random_uuid(rng), owner.id, random_uuid(rng), PRODUCTS[2], "P1Y", "annual", purchased,
                           auto_renew=True)
        sub.changes.append((purchased, 10, reference(sub.id, purchased)))
        owner.subscriptions.append(sub)

    def _subscription(self, rng: random.Random, customer_id: str, term: str, cycle: str) -> Subscription:
        recent = rng.random() < 0.25
        if recent:  # bought during the scenario month: its first 168 hours are visible
            day = self.month + dt.timedelta(days=rng.randint(0, 20))
        else:
            day = self.month - dt.timedelta(days=rng.randint(1, 28 * TERM_MONTHS[term] - 1))
        purchased = at_time(day, dt.time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59)))
        sub = Subscription(
            random_uuid(rng),
            customer_id,
            random_uuid(rng),
            rng.choice(PRODUCTS),
            term,
            cycle,
            purchased,
            auto_renew=rng.random() < 0.8,
        )
        sub.changes.append((purchased, rng.randint(1, 25), reference(sub.id, purchased)))
        quantity = sub.changes[0][1]
        day = self.month
        while day <= self.month_end:
            if rng.random() < 0.12:
                at = at_time(day, dt.time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)))
                if at > purchased and sub.status_at(at) == "active":
                    open_seats = sum(q for q, _ in sub.batches_at(at))
                    delta = -rng.randint(1, open_seats) if open_seats and rng.random() < 0.4 else rng.randint(1, 3)
                    if quantity + delta >= 1:
                        quantity += delta
                        sub.changes.append((at, delta, reference(sub.id, at)))
            day += dt.timedelta(days=1)
        return sub

    def _resources(self, rng: random.Random, customer: Customer) -> list[Resource]:
        resources: list[Resource] = []
        for index in range(rng.randint(1, 2)):
            sub_id = random_uuid(rng)
            sub_name = f"Azure plan {customer.company_name.split()[0]} {index + 1}"
            for env in ENVIRONMENTS:
                group = f"rg-{env.lower()}-{rng.choice(('web', 'data', 'core'))}"
                for _ in range(rng.randint(1, 2)):
                    meter_rows = tuple(
                        (reference("meter", m[0]), *m[:4], m[4]) for m in rng.sample(METERS, rng.randint(1, 2))
                    )
                    name = f"res{rng.getrandbits(24):06x}"
                    tags = () if rng.random() < 0.15 else (("environment", env),)
                    resources.append(
                        Resource(
                            f"/subscriptions/{sub_id}/resourcegroups/{group}/providers/microsoft.compute/"
                            f"virtualmachines/{name}",
                            sub_id,
                            sub_name,
                            group,
                            rng.choice(("westeurope", "northeurope")),
                            tags,
                            meter_rows,
                        )
                    )
        return resources

    def customer(self, customer_id: str) -> Customer | None:
        return next((c for c in self.customers if c.id.lower() == customer_id.lower()), None)

    def invoice_id(self, month: dt.date) -> str:
        return f"G{self.seed % 1000:03d}{month.year}{month.month:02d}"

    def recon_lines(self, period_start: dt.date, period_end: dt.date, now: dt.datetime) -> list[dict]:
        """One-time (NCE) recon line items for events in [period_start, period_end] that happened by ``now``."""
        lines: list[dict] = []
        for customer in self.customers:
            for sub in customer.subscriptions:
                lines += self._subscription_lines(customer, sub, period_start, period_end, now)
        for purchase in self.one_time:
            lines += purchase.recon_lines(self, period_start, period_end, now)
        return lines

    def _subscription_lines(
        self, customer: Customer, sub: Subscription, start: dt.date, end: dt.date, now: dt.datetime
    ) -> list[dict]:
        lines: list[dict] = []
        events = sub.timeline(min(now, at_time(end, dt.time(23, 59, 59))))
        previous = 0
        for event in events:
            day = event.at.date()
            if day >= start:
                if event.kind in ("new", "renew"):
                    lines.append(self._line(customer, sub, event, day, event.kind, event.quantity, 1))
                elif event.kind == "cancelImmediate":
                    # within 24 h of purchase/renewal the whole charge is refunded, later only the days left
                    full = event.at - sub.renewed_at(event.at) < dt.timedelta(hours=24)
                    refund_from = sub.cycle(day)[0] if full else day
                    lines.append(self._line(customer, sub, event, refund_from, event.kind, previous, -1))
                else:
                    lines.append(self._line(customer, sub, event, day, event.kind, previous, -1))
                    lines.append(self._line(customer, sub, event, day, event.kind, event.quantity, 1))
            previous = event.quantity
        # cycle charges: each cycle start inside the period that is not the purchase or a renewal day. A renewal day
        # is known from the term's dates, not from the renewal event: that fires at the purchase's time of day, so a
        # read earlier that day must not show the renewal's charge as a cycle charge (the renew line follows).
        day = start
        while day <= min(end, now.date()):
            cycle_start, _ = sub.cycle(day)
            if sub.cancelled_at is not None and day >= sub.cancelled_at.date():
                break
            renewal = sub.term_start(at_time(day, dt.time(23, 59))) == day
            if cycle_start == day and day > sub.purchased_at.date() and not renewal:
                quantity = sub.quantity_at(at_time(day, dt.time(0, 0)))
                event = SeatEvent(
                    at_time(day, dt.time(0, 0)), "cycleCharge", 0, quantity, reference(sub.id, "cycle", day)
                )
                lines.append(self._line(customer, sub, event, day, "cycleCharge", quantity, 1))
            day += dt.timedelta(days=1)
        return lines

    def _line(
        self,
        customer: Customer,
        sub: Subscription,
        event: SeatEvent,
        day: dt.date,
        charge_type: str,
        quantity: int,
        sign: int,
    ) -> dict:
        cycle_start, cycle_end = sub.cycle(day)
        if sub.billing_cycle == "monthly":
            cycle_days = calendar.monthrange(cycle_start.year, cycle_start.month)[1]
        else:
            cycle_days = (cycle_end - cycle_start).days + 1
        billing_days = (cycle_end - day).days + 1
        eup = sub.unit_price * billing_days / cycle_days * sign
        subtotal = trunc2(eup) * quantity
        term_start = sub.term_start(event.at)
        product_id, sku_id, availability_id, name, _ = sub.product
        return recon_item(self, customer, {
            "orderId": sub.order_id,
            "orderDate": event.at,
            "productId": product_id,
            "skuId": sku_id,
            "availabilityId": availability_id,
            "productName": name,
            "skuName": name,
            "chargeType": charge_type,
            "unitPrice": sub.unit_price,
            "effectiveUnitPrice": eup.quantize(Decimal("0.000001")),
            "unitType": "Licenses",
            "quantity": quantity,
            "subtotal": subtotal,
            "subscriptionId": sub.id,
            "subscriptionDescription": name,
            "subscriptionStartDate": at_time(term_start, dt.time(0, 0)),
            "subscriptionEndDate": at_time(sub.term_end(event.at), dt.time(0, 0)),
            "chargeStartDate": at_time(day, dt.time(0, 0)),
            "chargeEndDate": at_time(cycle_end, dt.time(0, 0)),
            "termAndBillingCycle": f"{sub.term} {sub.billing_cycle}",
            "billingFrequency": {"monthly": "Monthly", "annual": "Annual", "triennial": "Triennial"}[sub.billing_cycle],
            "referenceId": event.reference_id,
            "alternateId": reference(event.reference_id, sign)[:12],
        })

    def usage(self, first: dt.date, last: dt.date, now: dt.datetime) -> list[dict]:
        """Daily usage facts (one per resource, meter and day) for days in [first, last] that ended by ``now``.

        Data of a day appears once the day is over, as Cost Management's does (roughly; the real lag is 8-24 h).
        """
        facts: list[dict] = []
        day, latest = first, min(last, now.date() - dt.timedelta(days=1))
        while day <= latest:
            facts += self._day_facts(day)
            day += dt.timedelta(days=1)
        return facts

    def licence_facts(self, first: dt.date, last: dt.date, now: dt.datetime) -> list[dict]:
        """New Commerce licence charges as Cost Management shows them next to Azure at billing-account scope (§4.6):
        one ``Purchase`` row per subscription on each day a charge cycle starts, publisher ``Microsoft``."""
        facts: list[dict] = []
        day, latest = first, min(last, now.date() - dt.timedelta(days=1))
        while day <= latest:
            moment = at_time(day, dt.time(23, 59))
            for customer in self.customers:
                for sub in customer.subscriptions:
                    if sub.purchased_at > moment or sub.status_at(moment) != "active" or sub.cycle(day)[0] != day:
                        continue
                    quantity = Decimal(sub.quantity_at(moment))
                    product_id, _, _, name, _ = sub.product
                    facts.append(
                        {
                            "BillingCustomerId": customer.billing_customer_id,
                            "CustomerTenantId": customer.id,
                            "CustomerName": customer.company_name,
                            "SubscriptionId": sub.id,
                            "SubscriptionName": name,
                            "ResourceGroupName": "",
                            "ResourceGroup": "",
                            "ResourceId": "",
                            "ResourceLocation": "",
                            "MeterId": product_id,
                            "Meter": name,
                            "MeterCategory": "Microsoft 365",
                            "MeterSubcategory": "",
                            "ServiceName": "Microsoft 365",
                            "UnitOfMeasure": "1 License",
                            "ChargeType": "Purchase",
                            "PublisherType": "Microsoft",
                            "PricingModel": "OnDemand",
                            "PartnerEarnedCreditApplied": "false",
                            "tags": {},
                            "UsageDate": day,
                            "UsageQuantity": quantity,
                            "Cost": quantity * sub.unit_price,
                            "Currency": CURRENCY,
                        }
                    )
            day += dt.timedelta(days=1)
        return facts

    def _day_facts(self, day: dt.date) -> list[dict]:
        """The facts of one day (deterministic per day, so computed once and shared by every query)."""
        cached = self._usage_cache.get(day)
        if cached is not None:
            return cached
        facts: list[dict] = []
        for customer in self.customers:
            for resource in customer.resources:
                for meter_id, name, category, subcategory, unit, price in resource.meters:
                    rng = random.Random(f"{self.seed}|{resource.id}|{meter_id}|{day.isoformat()}")
                    quantity = Decimal(rng.randint(1, 2400)) / Decimal(100)
                    facts.append(
                        {
                            "BillingCustomerId": customer.billing_customer_id,
                            "CustomerTenantId": customer.id,
                            "CustomerName": customer.company_name,
                            "SubscriptionId": resource.subscription_id,
                            "SubscriptionName": resource.subscription_name,
                            "ResourceGroupName": resource.group,
                            "ResourceGroup": resource.group,
                            "ResourceId": resource.id,
                            "ResourceLocation": resource.location,
                            "MeterId": meter_id,
                            "Meter": name,
                            "MeterCategory": category,
                            "MeterSubcategory": subcategory,
                            "ServiceName": category,
                            "UnitOfMeasure": unit,
                            "ChargeType": "Usage",
                            "PublisherType": "Azure",
                            "PricingModel": "OnDemand",
                            "PartnerEarnedCreditApplied": "true",
                            "tags": dict(resource.tags),
                            "UsageDate": day,
                            "UsageQuantity": quantity,
                            "Cost": quantity * price,
                            "Currency": CURRENCY,
                        }
                    )
        self._usage_cache[day] = facts
        return facts


@functools.lru_cache(maxsize=16)
def scenario(seed: int, month: dt.date) -> MicrosoftScenario:
    """The scenario for (seed, month); cached so the PC and ARM sandboxes share one instance."""
    return MicrosoftScenario(seed, month)
