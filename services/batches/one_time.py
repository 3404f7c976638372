"""One-time purchases of a batch: billed once, in the month of the order; a refund credits that purchase.

Perpetual software, reservations and savings plans bought up front and Marketplace one-time offers have no period:
the vendor charges them once (Partner Center one-time recon lines, a distributor's one-time invoice item or
``One-Time``/``Activation`` subscription) and refunds them inside its own window. Amounts are ``rating.one_time``'s;
this module decides which vendor records speak for which purchase and keys the lines.

**One source of truth.** Every record is filed under its *purchase subject*: the vendor subscription it belongs to,
unified across sources by the Microsoft subscription id (a Partner Center subscription and a Pax8 subscription whose
``vendorSubscriptionId`` is that id are one subject; it is named by the lowest ledger subscription id among them),
else ``ext:<vendor subscription id>``, else ``cost_line:<id>``. Per subject exactly one source speaks:

1. the source whose cost line the ledger stored **first** (lowest cost-line id): what a vendor charged beats what a
   subscription list shows, and "first seen" never moves once lines are billed, so a second source reporting the
   same purchase later is named in the lineage (``also_reported_by``) and never billed twice;
2. only when no vendor charged anything for the subject yet, the subscription's snapshots: the purchase is the
   first snapshot with seats in a billable state, dated the subscription's start; a cancellation seen within the
   168-hour window after it (microsoft.md §3.5) is a full refund, a later one is reported, not credited.

**Keys.** A purchase is ``base_key(tenant, customer, subject, day, day, "one_time")`` with ``day`` the order date
(purchases of one subject on one day are one line); its bill month is the month of that day, so a rebuild or a
re-sync finds the same key and bills nothing twice, and a purchase that arrives after its month was approved is late
data for the next batch (``services.batches.diff``). A refund is ``base_key(…, purchase day, refund day,
"one_time_refund")`` billed in the month of the refund, ``credits`` naming the purchase's key; it is
``−share × invoiced`` (``rating.one_time.credit``), all refunds of a purchase capped at what was invoiced for it.

**Invoices.** The lines go with the customer's licences (group ``licences``), so a tenant that splits invoices by
environment does not send a purchase, or a purchase and its refund, on an invoice of their own.

**Never billed:** trials (subscriptions or lines of billing type or status ``trial``; the repository never loads
trial cost lines), free lines (zero price: a trial conversion's zero line), and purchases ordered before the
tenant's first batch (billed by whatever billed the reseller before cspbill).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ledger.models import CostLine, Customer, Snapshot, Subscription
from rating.lineage import Lineage
from rating.months import month_of
from rating.one_time import charge, credit, refund_share
from rating.pricing import Licence
from rating.rounding import RoundingPolicy
from services.batches.lines import BilledLine, DesiredLine, base_key, exact_decimal
from services.batches.timeline import ENDED, NOT_BILLED, Pricing
from services.prices.book import priced

PURCHASE = "one_time"
REFUND = "one_time_refund"
BILLING = "ONE_TIME"  # the billing a price rule for one-time products names
SNAPSHOT = "snapshot"
CANCEL_WINDOW = dt.timedelta(hours=168)  # microsoft.md §3.5: cancellation with full refund within 168 hours
# chargeType of refunds and cancellations, compared without case, spaces or dashes (microsoft.md §2.6)
REFUND_CHARGE_TYPES = frozenset({"refund", "cancel", "cancelimmediate", "onetimerefund", "removequantity"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """One vendor record about a one-time purchase or its refund."""

    source: str  # the cost line's source, or ``snapshot``
    record: str  # ``cost_line:12`` / ``snapshot:7``
    seen: int  # cost-line id: which source spoke first
    customer_id: int
    subject: str
    subscription_id: int | None
    product: str
    name: str
    day: dt.date
    quantity: Decimal
    unit_cost: Decimal | None
    cost: Decimal | None  # what the vendor charged (refunds: the refunded amount, positive)
    refund: bool
    order_id: str | None
    charge_type: str
    currency: str


@dataclass
class _Purchase:
    key: str
    evidence: list[Evidence]
    day: dt.date
    invoiced: Decimal | None  # None: not billed by cspbill (before go-live, or unpriced)
    credited: Decimal = Decimal(0)


def one_time_lines(tenant: str, currency: str, cost_lines: Sequence[CostLine],
                   snapshots: Mapping[int, Sequence[Snapshot]], customers: Mapping[int, Customer],
                   subscriptions: Mapping[int, Subscription], pricing: Pricing, rounding: RoundingPolicy,
                   window: tuple[dt.date, dt.date], go_live: dt.date, billed: Mapping[str, Sequence[BilledLine]],
                   problems: list[str]) -> list[DesiredLine]:
    """Desired purchase and refund lines billed (bill date) from ``window[0]`` to ``window[1]``, both inclusive.

    ``billed`` holds the billed versions per base key: a refund credits what was invoiced for its purchase. Records
    that cannot be billed are reported in ``problems``, naming the record."""
    purchases = [sub for sub in subscriptions.values()
                 if sub.billing_type == PURCHASE and sub.status.lower() != "trial" and sub.customer_id in customers]
    if not cost_lines and not purchases:  # a book of licences only: no subjects to work out
        return []
    subject_of, by_vendor_id = _subjects(subscriptions)
    found: dict[tuple[int, str], list[Evidence]] = defaultdict(list)
    for row in cost_lines:
        item = _from_cost_line(row, subscriptions, subject_of, by_vendor_id, customers, problems)
        if item is not None:
            found[(item.customer_id, item.subject)].append(item)
    for sub in purchases:
        for item in _from_snapshots(sub, snapshots.get(sub.id, ()), subject_of[sub.id], problems):
            found[(item.customer_id, item.subject)].append(item)
    lines: list[DesiredLine] = []
    for (customer_id, subject), items in sorted(found.items()):
        speaking, others = _speaker(items)
        lines += _subject_lines(tenant, currency, customers[customer_id], subject, speaking, others, pricing,
                                rounding, go_live, billed, problems)
    first, last = window
    return [line for line in lines if first <= line.period_to <= last]


def _subjects(subscriptions: Mapping[int, Subscription]) -> tuple[dict[int, str], dict[str, str]]:
    """Ledger subscription id -> purchase subject, and vendor/external subscription id (lower case) -> subject."""
    lowest: dict[str, int] = {}
    for sub in sorted(subscriptions.values(), key=lambda s: s.id):
        if sub.vendor_subscription_id:
            lowest.setdefault(sub.vendor_subscription_id.lower(), sub.id)
    subject_of = {sub.id: str(lowest.get((sub.vendor_subscription_id or "").lower(), sub.id))
                  for sub in subscriptions.values()}
    by_vendor_id = {vendor_id: str(sub_id) for vendor_id, sub_id in lowest.items()}
    for sub in subscriptions.values():
        by_vendor_id.setdefault(sub.external_id.lower(), subject_of[sub.id])
    return subject_of, by_vendor_id


def _from_cost_line(row: Any, subscriptions: Mapping[int, Subscription], subject_of: Mapping[int, str],
                    by_vendor_id: Mapping[str, str], customers: Mapping[int, Customer],
                    problems: list[str]) -> Evidence | None:
    what = f"cost line {row.id} ({row.source} {row.line_id})"
    sub = subscriptions.get(row.subscription_id) if row.subscription_id else None
    if sub is not None and (sub.billing_type == "trial" or sub.status.lower() == "trial"):
        return None
    customer_id = sub.customer_id if sub is not None else row.customer_id
    if customer_id not in customers:
        problems.append(f"{what} customer_external_id: {row.customer_external_id!r} matches no customer of this "
                        f"legal entity; the one-time purchase is not billed")
        return None
    if row.subtotal == 0 and row.unit_price == 0:
        return None  # free: a trial or the zero line of a trial conversion
    if row.quantity == 0:
        problems.append(f"{what} quantity: 0 units with a charge of {row.subtotal} {row.currency}; not billed")
        return None
    if sub is not None:
        subject = subject_of[sub.id]
    elif row.subscription_external_id:
        subject = by_vendor_id.get(row.subscription_external_id.lower(), f"ext:{row.subscription_external_id}")
    else:
        subject = f"cost_line:{row.id}"
    kind = "".join(ch for ch in row.charge_type.lower() if ch.isalnum())
    refund = kind in REFUND_CHARGE_TYPES or row.subtotal < 0 or row.unit_price < 0
    return Evidence(row.source, f"cost_line:{row.id}", row.id, customer_id, subject, sub.id if sub else None,
                    row.product_id, row.product_name or (sub.product_name if sub else row.product_id),
                    row.ordered_on or row.charge_start, abs(row.quantity), abs(row.unit_price), abs(row.subtotal),
                    refund, row.order_id, row.charge_type, row.currency)


def _from_snapshots(sub: Subscription, history: Sequence[Snapshot], subject: str,
                    problems: list[str]) -> list[Evidence]:
    """The purchase a one-time subscription's snapshots show, and its cancellation inside the window."""
    bought = next((snap for snap in history if snap.status.lower() not in NOT_BILLED | ENDED and snap.quantity > 0),
                  None)
    if bought is None:
        return []
    day = sub.start_date or bought.observed_on
    purchase = Evidence(SNAPSHOT, f"snapshot:{bought.id}", 0, sub.customer_id, subject, sub.id, bought.product_id,
                        sub.product_name, day, bought.quantity, bought.unit_cost, None, False, None, "purchase",
                        bought.currency)
    ended = next((snap for snap in history if snap.observed_at > bought.observed_at
                  and snap.status.lower() in ENDED), None)
    if ended is None:
        return [purchase]
    cancelled = sub.end_date + dt.timedelta(days=1) if sub.end_date and sub.end_date >= day else ended.observed_on
    if cancelled - day > CANCEL_WINDOW:
        problems.append(f"snapshot {ended.id} status: subscription {sub.id} ({sub.product_name}) cancelled on "
                        f"{cancelled}, after the {CANCEL_WINDOW.days}-day window of its purchase on {day}; "
                        f"not credited (a vendor refund line would be)")
        return [purchase]
    refund = Evidence(SNAPSHOT, f"snapshot:{ended.id}", 0, sub.customer_id, subject, sub.id, bought.product_id,
                      sub.product_name, cancelled, bought.quantity, None, None, True, None, "cancelled",
                      bought.currency)
    return [purchase, refund]


def _speaker(items: Sequence[Evidence]) -> tuple[list[Evidence], list[str]]:
    """The records of the one source that speaks for a subject, and the other sources that reported it."""
    charged = [item for item in items if item.source != SNAPSHOT]
    if not charged:
        return list(items), []
    first = min(charged, key=lambda item: item.seen).source
    others = sorted({item.source for item in items if item.source != first})
    return [item for item in charged if item.source == first], others


def _subject_lines(tenant: str, currency: str, customer: Customer, subject: str, items: Sequence[Evidence],
                   others: Sequence[str], pricing: Pricing, rounding: RoundingPolicy, go_live: dt.date,
                   billed: Mapping[str, Sequence[BilledLine]], problems: list[str]) -> list[DesiredLine]:
    lines: list[DesiredLine] = []
    purchases: list[_Purchase] = []
    by_day: dict[dt.date, list[Evidence]] = defaultdict(list)
    for item in items:
        if not item.refund:
            by_day[item.day].append(item)
    for day, bought in sorted(by_day.items()):
        key = base_key(tenant, customer.id, subject, day, day, PURCHASE)
        purchase = _Purchase(key, bought, day, None)
        purchases.append(purchase)
        if day < go_live:
            continue
        line = _purchase_line(customer, purchase, others, currency, pricing, rounding, problems)
        if line is not None:
            done = billed.get(key)
            purchase.invoiced = sum((b.amount for b in done), Decimal(0)) if done else line.amount
            lines.append(line)
    refunds: dict[tuple[str, dt.date], list[Evidence]] = defaultdict(list)
    for item in sorted((i for i in items if i.refund), key=lambda i: (i.day, i.record)):
        purchase = _credited(item, purchases)
        if purchase is None:
            problems.append(f"{item.record} ({item.charge_type}): refund on {item.day} of {item.name} matches no "
                            f"purchase of the same subscription on or before it; not credited")
        elif purchase.invoiced is None:
            problems.append(f"{item.record} ({item.charge_type}): refund on {item.day} of a purchase cspbill did not "
                            f"bill ({purchase.key}); credit it by hand if it was invoiced before go-live")
        else:
            refunds[(purchase.key, item.day)].append(item)
    for (key, day), returned in sorted(refunds.items()):
        purchase = next(p for p in purchases if p.key == key)
        lines.append(_refund_line(tenant, customer, subject, purchase, day, returned, currency, rounding))
    return lines


def _credited(item: Evidence, purchases: Sequence[_Purchase]) -> _Purchase | None:
    """The purchase a refund credits: the same order when both name one, else the latest one on or before it."""
    earlier = [p for p in purchases if p.day <= item.day]
    same_order = [p for p in earlier if item.order_id and item.order_id in {e.order_id for e in p.evidence}]
    candidates = same_order or earlier
    return candidates[-1] if candidates else None


def _purchase_line(customer: Customer, purchase: _Purchase, others: Sequence[str], currency: str,
                   pricing: Pricing, rounding: RoundingPolicy, problems: list[str]) -> DesiredLine | None:
    items = purchase.evidence
    first = items[0]
    records = ", ".join(item.record for item in items)
    if any(item.currency != currency for item in items):
        problems.append(f"{records} currency: one-time purchase of {first.name} in {first.currency}, the legal "
                        f"entity bills {currency}; not billed")
        return None
    quantity = sum((item.quantity for item in items), Decimal(0))
    costs = [item.cost for item in items]
    cost = sum(costs, Decimal(0)) if None not in costs else None  # type: ignore[arg-type]
    unit_cost = (exact_decimal(Fraction(cost) / Fraction(quantity)) if cost is not None and quantity
                 else first.unit_cost)
    edition, _ = pricing.editions.at(purchase.day)  # a purchase invoiced in a closed month keeps its price
    price = pricing.book.licence_price(Licence(first.product, priced(customer), BILLING, currency), purchase.day,
                                       unit_cost, records, edition)
    if price is None:
        problems.append(f"{records} unit cost: one-time purchase of {first.name} ({first.product}) on "
                        f"{purchase.day}: no price rule, and no unit cost for a markup rule, "
                        f"prices it; not billed")
        return None
    rated = charge(quantity, price.unit_price, currency, rounding)
    details = {"kind": "one-time purchase", "source": first.source, "product": first.product,
               "charge_types": ", ".join(sorted({i.charge_type for i in items})),
               "orders": ", ".join(sorted({i.order_id for i in items if i.order_id})),
               "cost": "" if cost is None else str(cost), "unit_cost": "" if unit_cost is None else str(unit_cost)}
    if others:
        details["also_reported_by"] = ", ".join(others)
    return _line(purchase.key, customer, first.subscription_id, "charge", purchase.day, purchase.day,
                 f"{first.name} ({first.product}) one-time purchase {purchase.day.isoformat()}: "
                 f"{quantity} × {price.unit_price}", quantity, price.unit_price, rated.amount.amount,
                 rated.unrounded, currency, Lineage([i.record for i in items], price.label, None, rated.formula,
                                                    rated.unrounded, rounding.value, details))


def _refund_line(tenant: str, customer: Customer, subject: str, purchase: _Purchase, day: dt.date,
                 returned: Sequence[Evidence], currency: str, rounding: RoundingPolicy) -> DesiredLine:
    """The credit of the refunds of one day against a purchase (``purchase.invoiced`` is set: it was billed)."""
    bought = purchase.evidence
    refunded_costs = [item.cost for item in returned]
    charged_costs = [item.cost for item in bought]
    share = refund_share(
        sum(refunded_costs, Decimal(0)) if None not in refunded_costs else None,  # type: ignore[arg-type]
        sum(charged_costs, Decimal(0)) if None not in charged_costs else None,  # type: ignore[arg-type]
        sum((item.quantity for item in returned), Decimal(0)), sum((item.quantity for item in bought), Decimal(0)))
    invoiced = purchase.invoiced or Decimal(0)
    rated = credit(invoiced, purchase.credited, share, currency, rounding)
    purchase.credited -= rated.amount.amount
    first = returned[0]
    key = base_key(tenant, customer.id, subject, purchase.day, day, REFUND)
    quantity = sum((item.quantity for item in returned), Decimal(0))
    details = {"kind": "one-time refund", "source": first.source, "credits": purchase.key,
               "charge_types": ", ".join(sorted({i.charge_type for i in returned})),
               "share": str(share), "invoiced": str(invoiced), "capped": str(rated.capped).lower()}
    unit = exact_decimal(rated.unrounded / Fraction(quantity)) if quantity else rated.amount.amount
    return _line(key, customer, first.subscription_id, "credit", purchase.day, day,
                 f"Credit: {first.name} ({first.product}) refund {day.isoformat()} of the purchase of "
                 f"{purchase.day.isoformat()}", quantity, unit, rated.amount.amount, rated.unrounded, currency,
                 Lineage([i.record for i in returned], None, None, rated.formula, rated.unrounded, rounding.value,
                         details), credits=purchase.key)


def _line(key: str, customer: Customer, subscription_id: int | None, kind: str, start: dt.date, bill_day: dt.date,
          description: str, quantity: Decimal, unit_price: Decimal, amount: Decimal, unrounded: Fraction,
          currency: str, lineage: Lineage, credits: str | None = None) -> DesiredLine:
    stored = lineage.to_dict()
    stored["bill_date"] = bill_day.isoformat()
    return DesiredLine(
        base_key=key, customer_id=customer.id, subscription_id=subscription_id, charge_kind=kind,
        period_from=start, period_to=bill_day, bill_month=month_of(bill_day), description=description[:500],
        quantity=quantity, unit_price=unit_price, amount=amount, unrounded=exact_decimal(unrounded),
        currency=currency, lineage=stored, group="licences", credits=credits)
