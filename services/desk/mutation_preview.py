"""What a mutation would do, shown to the desk before it is saved: the seats from and to, the monthly amount at the
customer's price before and after, what the NCE rule says, and whether the jump needs a confirmation.

Why a preview: the desk enters a number, the customer pays for it every month for a year or three. Seeing "from 10
to 400 seats, +4,485.00 EUR a month" before saving catches the extra zero the plausibility limits let through. The
checks are the very ones ``add_mutation`` makes (``check_request``, ``decide_now``), so a preview that passes saves;
nothing is written here. The price is the one the next batch would charge today (the current price book: fixed
price, markup on the list price or on the vendor cost), per seat and month in the subscription's currency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from config import Settings
from ledger.models import Customer, Snapshot, Subscription
from rating.periods import parse_duration
from rating.rounding import RoundingPolicy, round_amount
from services.access import Actor, require
from services.clock import Clock
from services.desk.mutations import MutationRequest, check_request, decide_now
from services.desk.plausibility import big_jump
from services.prices import licence, price_book
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass(frozen=True)
class MonthlyPrice:
    """The customer's price of one seat for one month, and the price-book entry that sets it."""

    per_seat: Fraction
    currency: str
    label: str


@dataclass(frozen=True)
class MutationPreview:
    subscription_id: int
    product: str
    customer: str
    kind: str
    effective_date: dt.date
    current: Decimal
    new_quantity: Decimal | None  # None for an upgrade
    outcome: str  # "open" (allowed now) or "scheduled" (for the renewal)
    scheduled_for: dt.date | None
    note: str | None  # the NCE rule's sentence when scheduled
    confirm: str | None  # why the person must confirm this jump, or None
    currency: str | None
    price_label: str | None
    monthly_before: Decimal | None  # at the customer's price, rounded by the tenant's policy
    monthly_after: Decimal | None

    @property
    def seat_change(self) -> Decimal | None:
        return None if self.new_quantity is None else self.new_quantity - self.current

    @property
    def monthly_change(self) -> Decimal | None:
        if self.monthly_before is None or self.monthly_after is None:
            return None
        return self.monthly_after - self.monthly_before


def monthly_price(uow: UnitOfWork, settings: Settings, tenant_code: str, subscription: Subscription,
                  customer: Customer, latest: Snapshot | None, day: dt.date) -> MonthlyPrice | None:
    """The price the current price book gives a seat of ``subscription`` on ``day``, per month; ``None`` when
    nothing prices it (no rule and no vendor cost)."""
    tenant = settings.tenant(tenant_code)
    book = price_book(tenant_code, uow.prices.rules(tenant_code),
                      uow.prices.list_prices(tenant.currency, market=tenant.country), uow.prices.config_imports(),
                      uow.batches.cost_prices(subscription.tenant_id))
    product = latest.product_id if latest is not None else subscription.product_id
    unit_cost, source = (latest.unit_cost, f"snapshot {latest.id}") if latest is not None else (None, "")
    if unit_cost is None:
        unit_cost, source = book.vendor_cost(subscription.id, product, day) or (None, "")
    price = book.licence_price(licence(subscription, customer, product), day, unit_cost, source)
    if price is None:
        return None
    try:
        months = parse_duration(subscription.billing)
    except ValueError:
        return None  # usage and one-time subscriptions have no monthly seat price
    return MonthlyPrice(Fraction(price.unit_price) / months, subscription.currency, price.label)


def preview_mutation(settings: Settings, who: Actor, request: MutationRequest, clock: Clock) -> MutationPreview:
    """Check the request as ``add_mutation`` would and say what it would change; saves nothing."""
    require(who, "desk")
    with UnitOfWork(engine_for(settings)) as uow:
        checked = check_request(uow, settings, who, request)
        decision = decide_now(checked, request, clock.now())
        subscription = checked.subscription
        customer = uow.customers.get(subscription.customer_id)
        new = None if checked.kind == "upgrade" else checked.change.new_quantity
        jump = big_jump(checked.current, new, settings.desk.mutations) if new is not None else None
        price = monthly_price(uow, settings, checked.tenant_code, subscription, customer,
                              checked.history[-1] if checked.history else None, request.effective_date)
        policy = RoundingPolicy(settings.rating_for(settings.tenant(checked.tenant_code)).rounding_for(
            subscription.currency))

        def monthly(seats: Decimal | None) -> Decimal | None:
            if price is None or seats is None:
                return None
            return round_amount(price.per_seat * Fraction(seats), price.currency, policy).amount

        return MutationPreview(
            subscription.id, subscription.product_name, customer.name, checked.kind, request.effective_date,
            checked.current, new, "scheduled" if decision.outcome == "scheduled" else "open", decision.scheduled_for,
            decision.reason or None, jump.sentence if jump else None, price.currency if price else None,
            price.label if price else None, monthly(checked.current), monthly(new),
        )
