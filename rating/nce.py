"""The NCE rules a service-desk change must pass before it is saved (reference/microsoft.md §3.5, §3.11).

A pure function of (the change, the subscription's terms, its seat batches, now): no I/O, no clock, no database, so
it lives in the domain core and is tested table-driven with exact sentences.

Rules:
- No change takes effect before the subscription starts or after it ends (``end_date``, or ``term_end`` when it
  will not renew).
- Increases and upgrades: any time while the subscription is active (or pending/trial).
- Reductions and cancellations of an NCE licence (a subscription with a commitment term): only the seats of batches
  still inside their 168-hour window (``reducible_until`` > the instant the change applies). Otherwise the change
  is either *scheduled* for the renewal (``term_end + 1 day``) or refused, as the caller asks.
- Reductions of a subscription without a commitment term: any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

WINDOW = dt.timedelta(hours=168)
ChangeKind = Literal["increase", "decrease", "cancel", "upgrade"]
Outcome = Literal["allowed", "scheduled", "refused"]
CHANGEABLE_STATUSES = frozenset({"active", "pending", "trial"})


@dataclass(frozen=True)
class SeatBatch:
    """Seats added by one event (purchase, renewal, mid-term add) and the instant their window closes."""

    quantity: Decimal
    added_at: dt.datetime
    reducible_until: dt.datetime

    @classmethod
    def added(cls, quantity: Decimal, added_at: dt.datetime) -> SeatBatch:
        """A batch whose deadline is derived (168 h later) because the source does not state it."""
        return cls(quantity, added_at, added_at + WINDOW)


@dataclass(frozen=True)
class Terms:
    """What the rule needs to know of a subscription; dates are inclusive billing days."""

    name: str  # how the sentence names it, e.g. "sub 12 (Example 365 E3)"
    quantity: Decimal
    status: str
    commitment_term: str | None  # None: no commitment, reductions any time
    start_date: dt.date | None
    term_end: dt.date | None  # inclusive
    end_date: dt.date | None = None  # inclusive last day after a cancellation
    auto_renew: bool | None = True

    @property
    def renewal_date(self) -> dt.date | None:
        return self.term_end + dt.timedelta(days=1) if self.term_end else None

    @property
    def last_day(self) -> dt.date | None:
        """The last day a change can take effect on."""
        if self.end_date is not None:
            return self.end_date
        return self.term_end if self.auto_renew is False else None


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    effective_date: dt.date
    new_quantity: Decimal | None = None  # for increase/decrease; cancel means 0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str  # one sentence naming the rule; empty when allowed
    next_allowed: dt.date | None = None  # the renewal a refused or scheduled reduction can take effect on
    scheduled_for: dt.date | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"


def allowed_reduction(batches: Sequence[SeatBatch], at: dt.datetime) -> Decimal:
    """Seats still reducible at ``at``: the sum of the batches whose 168-hour window is still open (§3.5)."""
    return sum((b.quantity for b in batches if b.reducible_until > at), Decimal(0))


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _refused(reason: str, next_allowed: dt.date | None = None) -> Decision:
    return Decision("refused", reason, next_allowed)


def decide(change: Change, terms: Terms, batches: Sequence[SeatBatch], now: dt.datetime,
           schedule_if_late: bool = False) -> Decision:
    """Whether ``change`` may be saved now, scheduled for the renewal, or must be refused (and why, and until when).

    ``now`` is the instant the desk enters the change; a change dated later is judged at the start of its day (UTC),
    because that is when it would be applied at the vendor.
    """
    verb = {"increase": "increase", "decrease": "reduction", "cancel": "cancellation", "upgrade": "upgrade"}
    what = f"{verb[change.kind]} of {terms.name}"
    if terms.start_date is not None and change.effective_date < terms.start_date:
        return _refused(
            f"{what} refused: effective {change.effective_date} is before the subscription starts on "
            f"{terms.start_date}; next allowed: {terms.start_date}",
            terms.start_date,
        )
    last_day = terms.last_day
    if last_day is not None and change.effective_date > last_day:
        return _refused(f"{what} refused: effective {change.effective_date} is after the subscription ends on "
                        f"{last_day}; no change is possible")
    if terms.status not in CHANGEABLE_STATUSES:
        return _refused(f"{what} refused: the subscription is {terms.status}")
    if change.kind in ("increase", "upgrade"):
        if change.kind == "increase" and (change.new_quantity is None or change.new_quantity <= terms.quantity):
            return _refused(f"{what} refused: new quantity {change.new_quantity} is not above {terms.quantity}")
        return Decision("allowed", "")
    target = Decimal(0) if change.kind == "cancel" else change.new_quantity
    if target is None or target < 0 or target >= terms.quantity:
        return _refused(f"{what} refused: new quantity {target} must be between 0 and {terms.quantity - 1}")
    if terms.commitment_term is None:
        return Decision("allowed", "")
    at = max(now, dt.datetime.combine(change.effective_date, dt.time(0), dt.UTC))
    wanted = terms.quantity - target
    if wanted <= allowed_reduction(batches, at):
        return Decision("allowed", "")
    return _late(what, wanted, terms, batches, at, schedule_if_late)


def _late(what: str, wanted: Decimal, terms: Terms, batches: Sequence[SeatBatch], at: dt.datetime,
          schedule_if_late: bool) -> Decision:
    """A reduction beyond the open windows: scheduled for the renewal when asked and possible, else refused."""
    renewal = terms.renewal_date if terms.auto_renew is not False else None
    if schedule_if_late and renewal is not None:
        return Decision("scheduled", f"{what} scheduled for the renewal on {renewal}: outside the 168-hour window",
                        renewal, renewal)
    next_allowed = f"renewal on {renewal}" if renewal else "none (the subscription does not renew)"
    closed = sorted((b for b in batches if b.reducible_until <= at), key=lambda b: b.added_at)
    open_seats = allowed_reduction(batches, at)
    if open_seats > 0:
        reason = (f"{what} refused: {wanted} seats asked but only {open_seats} were added in the last 168 hours "
                  f"(can be reduced until {_utc(min(b.reducible_until for b in batches if b.reducible_until > at))})")
    elif closed:
        last = closed[-1]
        reason = (f"{what} refused: NCE seats added {_utc(last.added_at)} can only be reduced until "
                  f"{_utc(last.reducible_until)}")
    else:
        reason = f"{what} refused: no NCE seats were added in the 168 hours before {_utc(at)}"
    return _refused(f"{reason}; next allowed: {next_allowed}", renewal)
