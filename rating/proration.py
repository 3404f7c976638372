"""Quantity-and-price timelines → charge, credit and rebill lines for a window (billing-rules.md §4).

A subscription is a start state plus dated changes; every change takes effect at the **start** of its day, so the
new state owns that day. Each charge period (a billing period clipped to the subscription's start) is charged with
the state in force on its first day; a change strictly inside it credits the line that charged the old state for
``[change, period end]`` and charges the new state for the same days ("wipe and recreate", as Partner Center
does). Credits come from what was charged, never re-priced, and are capped by what remains of the credited line.
All dates are calendar dates; all end dates are inclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from rating.lineage import Lineage, format_unrounded
from rating.money import Money
from rating.periods import (
    ONE_DAY,
    BillingPeriod,
    Convention,
    day_fraction,
    days_inclusive,
    period_containing,
    periods_from,
)
from rating.pricing import FxRate
from rating.rounding import RoundingPolicy, round_amount


class Timing(StrEnum):
    """When a period is billed: ``advance`` at its start (licences), ``arrears`` after it ends. Never the amount."""

    ADVANCE = "advance"
    ARREARS = "arrears"


class PricePolicy(StrEnum):
    """A mid-period price-only change: ``prorated`` (credit and rebill now) or ``next_cycle`` (from the next
    billing period; the NCE default, since licence prices are fixed for a term)."""

    PRORATED = "prorated"
    NEXT_CYCLE = "next_cycle"


class LineKind(StrEnum):
    """A rebill is a ``charge`` whose stretch starts at the change date, not at the charge-period start."""

    CHARGE = "charge"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class SubscriptionTerms:
    """A subscription as bought: first day ``start`` (inclusive), quantity and price per unit per billing period.

    ``anchor`` is any day on which a billing period starts (default ``start``); ``input_ids`` name the snapshots
    (or order) the terms came from and end up in lineage. With ``fx``, unit prices are in ``fx.base`` and every
    unrounded amount is converted with that recorded rate into ``currency`` before its one rounding.
    """

    subscription_id: str
    currency: str
    start: date
    quantity: int
    unit_price: Decimal
    term_months: int = 1
    billing_months: int = 1
    anchor: date | None = None
    timing: Timing = Timing.ADVANCE
    product: str | None = None
    price_version: str | None = None
    input_ids: tuple[str, ...] = ()
    bills_when_suspended: bool = True
    fx: FxRate | None = None

    def __post_init__(self) -> None:
        if self.fx is not None and self.fx.quote != self.currency:
            raise ValueError(f"exchange rate {self.fx.describe()} does not convert into {self.currency}")
        if self.billing_months <= 0 or self.term_months % self.billing_months:
            raise ValueError(f"a {self.term_months}-month term cannot be billed every {self.billing_months} months")
        if self.quantity < 0 or self.unit_price < 0:
            raise ValueError("quantity and unit price cannot be negative")

    @property
    def effective_anchor(self) -> date:
        return self.anchor or self.start


@dataclass(frozen=True, slots=True)
class Change:
    """A change effective at the start of day ``effective``; ``None`` fields keep their value.

    ``product`` marks an upgrade or switch; ``cancel`` ends the subscription (day ``effective`` is not charged);
    ``suspended`` toggles suspension, which only changes amounts when the terms say suspended seats are not billed
    (NCE keeps billing them). ``input_ids`` name the mutation or snapshots behind the change.
    """

    effective: date
    quantity: int | None = None
    unit_price: Decimal | None = None
    product: str | None = None
    cancel: bool = False
    suspended: bool | None = None
    price_version: str | None = None
    input_ids: tuple[str, ...] = ()

    @property
    def price_only(self) -> bool:
        untouched = (self.quantity, self.product, self.suspended) == (None, None, None)
        return self.unit_price is not None and untouched and not self.cancel


@dataclass(frozen=True, slots=True)
class Window:
    """The days ``start`` to ``end``, both inclusive. A line belongs to it when its charge period starts in it."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True, order=True)
class LineKey:
    """Deterministic identity of a rated line, usable inside an invoice line key.

    ``period_start`` is the first day of the charge period the line belongs to; ``stretch_start`` the first day it
    covers (equal for a period charge, the change date for a credit or rebill); ``sequence`` tells apart further
    credits against the same stretch (0 unless a caller numbers corrections).
    """

    subscription: str
    period_start: date
    kind: LineKind
    stretch_start: date
    sequence: int = 0

    def as_tuple(self) -> tuple[str, str, str, str, int]:
        return (self.subscription, self.period_start.isoformat(), self.kind.value, self.stretch_start.isoformat(),
                self.sequence)


@dataclass(frozen=True, slots=True)
class InvoicedLine:
    """What a credit needs to know of a line already charged: its span, the fraction it was charged with (1 for a
    whole period), its exact unrounded amount and the amount as invoiced (rounded)."""

    key: LineKey
    period: BillingPeriod
    stretch_end: date
    quantity: int
    unit_price: Decimal
    fraction: Fraction
    unrounded: Fraction
    amount: Money
    product: str | None = None
    price_version: str | None = None


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One charge or credit over ``[key.stretch_start, stretch_end]`` (inclusive), rounded once."""

    key: LineKey
    period: BillingPeriod
    stretch_end: date
    quantity: int
    unit_price: Decimal
    product: str | None
    days: int
    period_days: int
    unrounded: Fraction
    amount: Money
    formula: str
    lineage: Lineage
    bill_date: date

    def invoiced(self) -> InvoicedLine:
        """This line as a credit sees it once it has been invoiced."""
        return InvoicedLine(
            key=self.key,
            period=self.period,
            stretch_end=self.stretch_end,
            quantity=self.quantity,
            unit_price=self.unit_price,
            fraction=Fraction(self.days, self.period_days),
            unrounded=self.unrounded,
            amount=self.amount,
            product=self.product,
            price_version=self.lineage.price_version,
        )


@dataclass(frozen=True, slots=True)
class _State:
    """The billing state in force, with the ids of the inputs that set each part of it (for lineage) and the ids
    of the changes composed on the day it began (what a credit/rebill pair is made by)."""

    quantity: int
    unit_price: Decimal
    product: str | None
    price_version: str | None
    quantity_ids: tuple[str, ...]
    price_ids: tuple[str, ...]
    status_ids: tuple[str, ...]
    day_ids: tuple[str, ...] = ()
    active: bool = True
    suspended: bool = False

    @property
    def input_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.quantity_ids + self.price_ids + self.status_ids))

    def apply(self, change: Change, same_day: bool) -> _State:
        ids = change.input_ids
        status_changed = change.product is not None or change.cancel or change.suspended is not None
        return replace(
            self,
            quantity=self.quantity if change.quantity is None else change.quantity,
            unit_price=self.unit_price if change.unit_price is None else change.unit_price,
            product=self.product if change.product is None else change.product,
            price_version=change.price_version or self.price_version,
            active=self.active and not change.cancel,
            suspended=self.suspended if change.suspended is None else change.suspended,
            quantity_ids=self.quantity_ids if change.quantity is None else ids,
            price_ids=self.price_ids if change.unit_price is None else ids,
            status_ids=ids if status_changed else self.status_ids,
            day_ids=(self.day_ids if same_day else ()) + ids,
        )

    def billed_quantity(self, bills_when_suspended: bool) -> int:
        if not self.active or (self.suspended and not bills_when_suspended):
            return 0
        return self.quantity

    def billing(self, bills_when_suspended: bool) -> tuple[object, ...]:
        return self.billed_quantity(bills_when_suspended), self.unit_price, self.product, self.active


def _bill_date(timing: Timing, period: BillingPeriod, day: date) -> date:
    return day if timing is Timing.ADVANCE else period.end + ONE_DAY


def _effective_day(change: Change, terms: SubscriptionTerms, policy: PricePolicy) -> date:
    if policy is PricePolicy.PRORATED or not change.price_only:
        return change.effective
    period = period_containing(terms.effective_anchor, terms.billing_months, change.effective)
    if change.effective == max(period.start, terms.start):
        return change.effective
    return period.end + ONE_DAY


def _timeline(terms: SubscriptionTerms, changes: Sequence[Change], policy: PricePolicy) -> list[tuple[date, _State]]:
    """The states in force, one entry per day on which billing changes; same-day changes are composed in order
    (a state lasting zero days is never billed) and no-op days are dropped."""
    previous = terms.start
    for position, change in enumerate(changes):
        if change.effective < previous:
            raise ValueError(f"change {position} ({change.effective}) is before the start or an earlier change")
        previous = change.effective
    dated = sorted(((_effective_day(c, terms, policy), position, c) for position, c in enumerate(changes)),
                   key=lambda item: item[:2])
    ids = terms.input_ids
    state = _State(terms.quantity, terms.unit_price, terms.product, terms.price_version, ids, ids, ids)
    timeline = [(terms.start, state)]
    for day, _, change in dated:
        same_day = timeline[-1][0] == day
        state = state.apply(change, same_day)
        if same_day:
            timeline[-1] = (day, state)
        else:
            timeline.append((day, state))
    kept = timeline[:1]
    for day, state in timeline[1:]:
        if state.billing(terms.bills_when_suspended) != kept[-1][1].billing(terms.bills_when_suspended):
            kept.append((day, state))
    return kept


def _charge(
    terms: SubscriptionTerms,
    period: BillingPeriod,
    period_start: date,
    start: date,
    state: _State,
    convention: Convention,
    rounding: RoundingPolicy,
) -> RatedLine:
    quantity = state.billed_quantity(terms.bills_when_suspended)
    days, total_days = day_fraction(start, period.end, period, convention)
    unrounded = quantity * Fraction(state.unit_price) * Fraction(days, total_days)
    formula = f"{quantity} × {state.unit_price} × {days}/{total_days}"
    details = {"fx": terms.fx.describe()} if terms.fx else {}
    if terms.fx is not None:
        unrounded = terms.fx.convert(unrounded)
        formula += f" × {terms.fx.rate}"
    anchor = terms.effective_anchor
    renewal = (period_containing(anchor, terms.term_months, period_start).index
               - period_containing(anchor, terms.term_months, terms.start).index)
    lineage = Lineage(
        input_ids=state.input_ids,
        price_version=state.price_version,
        convention=convention.value,
        formula=formula,
        unrounded=unrounded,
        rounding=rounding.value,
        details={
            "billing_period": f"{period.start.isoformat()}..{period.end.isoformat()}",
            "calendar_days": str(days_inclusive(start, period.end)),
            "term": "initial" if renewal == 0 else f"renewal {renewal}",
            "product": state.product or "",
            "timing": terms.timing.value,
            **details,
        },
    )
    return RatedLine(
        key=LineKey(terms.subscription_id, period_start, LineKind.CHARGE, start),
        period=period,
        stretch_end=period.end,
        quantity=quantity,
        unit_price=state.unit_price,
        product=state.product,
        days=days,
        period_days=total_days,
        unrounded=unrounded,
        amount=round_amount(unrounded, terms.currency, rounding),
        formula=formula,
        lineage=lineage,
        bill_date=_bill_date(terms.timing, period, start),
    )


def credit_invoiced(
    line: InvoicedLine,
    effective: date,
    convention: Convention,
    rounding: RoundingPolicy,
    *,
    credited_so_far: Money | None = None,
    sequence: int = 0,
    input_ids: tuple[str, ...] = (),
    timing: Timing = Timing.ADVANCE,
) -> RatedLine:
    """Credit ``[effective, line.stretch_end]`` of an already-invoiced line (billing-rules.md §4.2).

    ``−A_L × f(effective, end) / f_L`` from the line's own unrounded amount and fraction (never re-priced), rounded
    by ``rounding`` and then capped so that, with ``credited_so_far`` (the signed sum of earlier credits and
    adjustments on the line, ≤ 0), it never exceeds the amount as invoiced.
    """
    if not line.key.stretch_start <= effective <= line.stretch_end:
        raise ValueError(f"{effective} is outside the invoiced stretch {line.key.stretch_start}..{line.stretch_end}")
    currency = line.amount.currency
    days, total_days = day_fraction(effective, line.stretch_end, line.period, convention)
    unrounded = -line.unrounded * Fraction(days, total_days) / line.fraction
    if line.unrounded == line.quantity * Fraction(line.unit_price) * line.fraction:
        formula = f"-{line.quantity} × {line.unit_price} × {days}/{total_days}"
    else:
        formula = f"-{format_unrounded(line.unrounded)} × {days}/{total_days} ÷ {line.fraction}"
    amount = round_amount(unrounded, currency, rounding)
    remaining = line.amount + (credited_so_far or Money.zero(currency))
    floor = -remaining if remaining.amount > 0 else Money.zero(currency)
    if amount.amount < floor.amount:
        amount = floor
        formula += f", capped at {floor.amount} (what remains of the credited line)"
    lineage = Lineage(
        input_ids=input_ids,
        price_version=line.price_version,
        convention=convention.value,
        formula=formula,
        unrounded=unrounded,
        rounding=rounding.value,
        details={
            "billing_period": f"{line.period.start.isoformat()}..{line.period.end.isoformat()}",
            "calendar_days": str(days_inclusive(effective, line.stretch_end)),
            "credits": "/".join(str(part) for part in line.key.as_tuple()),
            "product": line.product or "",
        },
    )
    return RatedLine(
        key=LineKey(line.key.subscription, line.key.period_start, LineKind.CREDIT, effective, sequence),
        period=line.period,
        stretch_end=line.stretch_end,
        quantity=line.quantity,
        unit_price=line.unit_price,
        product=line.product,
        days=days,
        period_days=total_days,
        unrounded=unrounded,
        amount=amount,
        formula=formula,
        lineage=lineage,
        bill_date=_bill_date(timing, line.period, effective),
    )


def rate_subscription(
    terms: SubscriptionTerms,
    changes: Sequence[Change],
    window: Window,
    convention: Convention,
    rounding: RoundingPolicy,
    price_policy: PricePolicy = PricePolicy.PRORATED,
) -> list[RatedLine]:
    """Every line of every charge period whose first day lies in ``window`` (inclusive), in order.

    ``changes`` must be in date order, none before ``terms.start``. Per charge period: the charge with the state
    on its first day (a change on that day is applied first, no credit/rebill pair), then per later change a
    credit of the line in force and, unless the new state bills nothing (cancel, zero seats), a rebill; both
    over ``[change, period end]``. After the term the subscription renews on the same anchor until cancelled.
    """
    timeline = _timeline(terms, changes, price_policy)
    lines: list[RatedLine] = []
    cursor = 0
    for period in periods_from(terms.effective_anchor, terms.billing_months, terms.start):
        period_start = max(period.start, terms.start)
        if period_start > window.end:
            break
        while cursor + 1 < len(timeline) and timeline[cursor + 1][0] <= period_start:
            cursor += 1
        state = timeline[cursor][1]
        if not state.active:
            break
        if period_start < window.start:
            continue
        current = None
        if state.billed_quantity(terms.bills_when_suspended) > 0:
            current = _charge(terms, period, period_start, period_start, state, convention, rounding)
            lines.append(current)
        for day, new_state in timeline[cursor + 1:]:
            if day > period.end:
                break
            if current is not None:
                lines.append(credit_invoiced(current.invoiced(), day, convention, rounding,
                                             input_ids=new_state.day_ids, timing=terms.timing))
            current = None
            if new_state.billed_quantity(terms.bills_when_suspended) > 0:
                current = _charge(terms, period, period_start, day, new_state, convention, rounding)
                lines.append(current)
    return lines
