"""What is rated: a subscription as bought, its dated changes and the window a run bills.

Why apart from the rules: these records are the rating core's input contract, filled by the services from snapshots
and mutations and by ``cspbill rate`` from a case file, and read by the timeline, the charges and the credits alike.
All end dates are inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from rating.fx import FxConversion, FxRate
from rating.periods import ONE_DAY, BillingPeriod


class Timing(StrEnum):
    """When a period is billed: ``advance`` at its start (licences), ``arrears`` after it ends. Never the amount."""

    ADVANCE = "advance"
    ARREARS = "arrears"

    def bill_date(self, period: BillingPeriod, day: date) -> date:
        """The day a stretch of ``period`` that starts on ``day`` is billed."""
        return day if self is Timing.ADVANCE else period.end + ONE_DAY


class PricePolicy(StrEnum):
    """A mid-period price-only change: ``prorated`` (credit and rebill now), ``next_cycle`` (from the next billing
    period, the default) or ``term`` (from the next term: Microsoft's price protection keeps an NCE term's price
    until renewal)."""

    PRORATED = "prorated"
    NEXT_CYCLE = "next_cycle"
    TERM = "term"


@dataclass(frozen=True, slots=True)
class SubscriptionTerms:
    """A subscription as bought: first day ``start`` (inclusive), quantity and price per unit per billing period.

    ``anchor`` is any day on which a billing period starts (default ``start``); ``input_ids`` name the snapshots
    (or order) the terms came from and end up in lineage. With ``fx``, unit prices are in ``fx.base`` and every
    unrounded amount is converted into ``currency`` before its one rounding: with one recorded rate (an
    :class:`~rating.fx.FxRate`) for every line, or (an :class:`~rating.fx.FxConversion`) with the rate its rule
    picks for each line's bill date, so charges billed on different days may use different rates.
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
    fx: FxRate | FxConversion | None = None

    def __post_init__(self) -> None:
        if self.fx is not None and self.fx.quote != self.currency:
            raise ValueError(f"exchange rate {self.fx.base}->{self.fx.quote} does not convert into {self.currency}")
        if self.billing_months <= 0 or self.term_months % self.billing_months:
            raise ValueError(f"a {self.term_months}-month term cannot be billed every {self.billing_months} months")
        if self.quantity < 0 or self.unit_price < 0:
            raise ValueError("quantity and unit price cannot be negative")

    def rate_on(self, bill_date: date) -> FxRate | None:
        """The rate converting a line billed on ``bill_date`` (``None``: priced in ``currency``); raises
        :class:`~rating.fx.MissingRate` when none is recorded."""
        if self.fx is None or isinstance(self.fx, FxRate):
            return self.fx
        return self.fx.rate_for(bill_date)

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
