"""Questions the web desk and the demo ask of the synced ledger, tenant-filtered by the actor.

Lists and searches of customers, subscriptions, timelines, discrepancies and sync runs live in
``services.web_queries``; this module adds the two answers that need the sync's and the NCE rules' knowledge:
- "what was the quantity on day D, and since when" with the coverage behind it (the last complete read of the
  subscription's source on or after D, so a stale answer is visible as such);
- what the desk can still reduce now, until when, and the next date a reduction is possible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from config import Settings
from ledger.models import Subscription
from services.access import Actor, require
from services.clock import Clock
from services.errors import NotFound
from services.mutations import reduction_outlook
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
