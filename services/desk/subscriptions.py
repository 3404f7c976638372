"""Subscriptions as the service desk looks at them, tenant-filtered by the actor: search, one subscription's
quantity history (vendor snapshots and desk mutations on one timeline), and the answers that need the sync's and the
NCE rules' knowledge:
- "what was the quantity on day D, and since when" with the coverage behind it (the last complete read of the
  subscription's source on or after D, so a stale answer is visible as such);
- what the desk can still reduce now, until when, and the next date a reduction is possible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from config import Settings
from ledger.models import Customer, Mutation, Provisioning, Snapshot, Subscription
from services.access import Actor, owned, readable_tenants, require
from services.clock import Clock
from services.desk.mutations import reduction_outlook
from services.errors import NotFound
from services.paging import Page, bounds, page_of
from services.runtime import engine_for
from services.uow import UnitOfWork

COMPLETE = ("succeeded", "partial")


@dataclass(frozen=True)
class QuantityAnswer:
    subscription_id: int
    day: dt.date
    quantity: Decimal | None  # None: the vendor had not shown the subscription by that day
    status: str | None
    since: dt.date | None  # first billing day of the uninterrupted state
    snapshot_id: int | None
    read_on: dt.date | None  # billing day of the first complete read of the source on or after ``day``


@dataclass(frozen=True)
class SubscriptionOutlook:
    subscription_id: int
    product: str
    quantity: Decimal
    term: str | None
    billing: str
    start_date: dt.date | None
    term_end: dt.date | None
    renewal_date: dt.date | None
    reducible_now: Decimal
    reducible_until: dt.datetime | None
    next_allowed_reduction: dt.date | None


def _subscription(uow: UnitOfWork, who: Actor, subscription_id: int) -> tuple[Subscription, str]:
    require(who, "desk")
    subscription = uow.subscriptions.get(subscription_id)
    codes = {t.id: t.code for t in uow.tenants.all()}
    if subscription is None or not who.can_see(codes.get(subscription.tenant_id, "")):
        raise NotFound(f"subscription {subscription_id}: not found")
    return subscription, codes[subscription.tenant_id]


def quantity_on_day(settings: Settings, who: Actor, subscription_id: int, day: dt.date) -> QuantityAnswer:
    """The vendor's quantity on ``day`` (billing day in the tenant's zone), since when, and which read backs it."""
    with UnitOfWork(engine_for(settings)) as uow:
        subscription, code = _subscription(uow, who, subscription_id)
        zone = ZoneInfo(settings.tenant(code).timezone)
        read_days = sorted(run.as_of.astimezone(zone).date()
                           for run in uow.sync_runs.recent(limit=100_000, source=subscription.source)
                           if run.status in COMPLETE)
        read_on = next((d for d in read_days if d >= day), None)
        state = uow.snapshots.quantity_on(subscription.id, day)
        if state is None:
            return QuantityAnswer(subscription.id, day, None, None, None, None, read_on)
        return QuantityAnswer(subscription.id, day, state.quantity, state.status, state.since, state.snapshot_id,
                              read_on)


def subscription_outlook(settings: Settings, who: Actor, subscription_id: int, clock: Clock) -> SubscriptionOutlook:
    """Term, billing and the reduction window of a subscription now (for the desk's subscription page)."""
    now = clock.now()
    with UnitOfWork(engine_for(settings)) as uow:
        subscription, _ = _subscription(uow, who, subscription_id)
        history = uow.snapshots.history(subscription.id)
        outlook = reduction_outlook(history, subscription, now)
        renewal = subscription.term_end + dt.timedelta(days=1) if subscription.term_end else None
        return SubscriptionOutlook(
            subscription.id, subscription.product_name, history[-1].quantity if history else Decimal(0),
            subscription.term, subscription.billing, subscription.start_date, subscription.term_end,
            renewal if subscription.auto_renew is not False else None, outlook.reducible_now,
            outlook.reducible_until, outlook.next_allowed,
        )


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    tenant: str
    customer_id: int
    customer: str
    source: str
    external_id: str
    product_name: str
    sku: str | None
    term: str | None
    billing: str
    status: str
    quantity: Decimal | None


def _latest_quantity():
    return (
        select(Snapshot.quantity)
        .where(Snapshot.subscription_id == Subscription.id)
        .order_by(Snapshot.observed_at.desc(), Snapshot.id.desc())
        .limit(1)
        .correlate(Subscription)
        .scalar_subquery()
    )


def search_subscriptions(
    settings: Settings, who: Actor, query: str = "", customer_id: int | None = None, offset: int = 0, limit: int = 25
) -> Page:
    """Subscriptions matching product, SKU, vendor id or customer name, with the quantity last seen at the vendor."""
    offset, limit = bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        stmt = (
            select(Subscription, Customer.name.label("customer"), _latest_quantity().label("quantity"))
            .join(Customer, Customer.id == Subscription.customer_id)
            .where(Subscription.tenant_id.in_(tenants))
        )
        if customer_id is not None:
            stmt = stmt.where(Subscription.customer_id == customer_id)
        if query:
            like = f"%{query}%"
            stmt = stmt.where(or_(
                Subscription.product_name.ilike(like), Subscription.sku.ilike(like),
                Subscription.external_id.ilike(like), Subscription.vendor_subscription_id.ilike(like),
                Customer.name.ilike(like),
            ))
        stmt = stmt.order_by(Customer.name, Subscription.product_name, Subscription.id).offset(offset).limit(limit + 1)
        return page_of(uow.session.execute(stmt).all(), offset, limit, lambda r: _subscription_row(r, tenants))


def _subscription_row(row: Any, tenants: dict[int, str]) -> SubscriptionRow:
    sub: Subscription = row.Subscription
    return SubscriptionRow(
        sub.id, tenants[sub.tenant_id], sub.customer_id, row.customer, sub.source, sub.external_id, sub.product_name,
        sub.sku, sub.term, sub.billing, sub.status, row.quantity,
    )


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a subscription's quantity history: a vendor state (collapsed while unchanged) or a desk request."""

    day: dt.date
    source: str  # "vendor" or "desk"
    quantity: Decimal | None
    status: str
    detail: str
    last_seen: dt.date | None = None
    seen: int = 1
    mutation_id: int | None = None  # the desk request, for its page and its withdraw button


@dataclass(frozen=True)
class SubscriptionView:
    row: SubscriptionRow
    start_date: dt.date | None
    term_end: dt.date | None
    end_date: dt.date | None
    auto_renew: bool | None
    currency: str
    timeline: list[TimelineEntry]
    mutations: int
    reducible_now: Decimal
    reducible_until: dt.datetime | None
    next_allowed_reduction: dt.date | None


def subscription_view(settings: Settings, who: Actor, subscription_id: int, now: dt.datetime) -> SubscriptionView:
    """A subscription with its snapshots (runs of an unchanged state collapsed) and mutations on one timeline, and
    what can still be reduced ``now`` (the mutations service's NCE outlook)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        row = uow.session.execute(
            select(Subscription, Customer.name.label("customer"), _latest_quantity().label("quantity"))
            .join(Customer, Customer.id == Subscription.customer_id)
            .where(Subscription.id == subscription_id)
        ).first()
        owned(row.Subscription if row else None, tenants, "subscription", subscription_id)
        sub: Subscription = row.Subscription
        history = uow.snapshots.history(sub.id)
        outlook = reduction_outlook(history, sub, now)
        entries = _vendor_runs(history)
        mutations = uow.session.scalars(
            select(Mutation).where(Mutation.subscription_id == sub.id).order_by(Mutation.effective_date, Mutation.id)
        ).all()
        sent = uow.provisionings.for_mutations([m.id for m in mutations])
        entries += [_mutation_entry(m, sent.get(m.id)) for m in mutations]
        entries.sort(key=lambda e: (e.day, e.source != "vendor"))
        return SubscriptionView(
            _subscription_row(row, tenants), sub.start_date, sub.term_end, sub.end_date, sub.auto_renew, sub.currency,
            entries, len(mutations), outlook.reducible_now, outlook.reducible_until, outlook.next_allowed,
        )


def _vendor_runs(snapshots: Iterable[Snapshot]) -> list[TimelineEntry]:
    runs: list[TimelineEntry] = []
    for snap in snapshots:
        last = runs[-1] if runs else None
        if last is not None and (last.quantity, last.status) == (snap.quantity, snap.status):
            runs[-1] = TimelineEntry(last.day, "vendor", last.quantity, last.status, last.detail, snap.observed_on,
                                     last.seen + 1)
        else:
            runs.append(TimelineEntry(snap.observed_on, "vendor", snap.quantity, snap.status,
                                      f"vendor shows {snap.quantity} ({snap.status})", snap.observed_on))
    return runs


def _mutation_entry(mutation: Mutation, sent: Provisioning | None) -> TimelineEntry:
    what = mutation.kind
    if mutation.new_quantity is not None:
        what += f" to {mutation.new_quantity}"
    elif mutation.delta is not None:
        what += f" by {mutation.delta}"
    if mutation.target_product:
        what += f" → {mutation.target_product}"
    detail = f"{what}, ticket {mutation.ticket_ref} by {mutation.created_by}"
    if mutation.scheduled_for:
        detail += f", scheduled for {mutation.scheduled_for.isoformat()}"
    if sent is not None:
        detail += f"; at {sent.source}: {sent.status}"
        if sent.vendor_reason:
            detail += f" ({sent.vendor_code}: {sent.vendor_reason})"
        elif sent.last_error and sent.status in ("queued", "failed"):
            detail += f" ({sent.last_error})"
    return TimelineEntry(mutation.effective_date, "desk", mutation.new_quantity, mutation.status, detail,
                         mutation_id=mutation.id)


def subscription_tenant(settings: Settings, who: Actor, subscription_id: int) -> str:
    """The tenant code of a subscription the actor may see."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        return tenants[owned(uow.session.get(Subscription, subscription_id), tenants, "subscription",
                              subscription_id).tenant_id]
