"""NCE licence subscriptions over time: terms, billing cycles, renewals, seat changes and 168-hour seat batches.

Why apart from the world: these are Microsoft's rules for one subscription (reference/microsoft.md §3.1-§3.5):
terms P1M/P1Y/P3Y with their allowed billing cycles, cycles anchored on the term start with month-end clipping,
and seat batches reducible for 168 hours. The world (``world.py``) only decides who bought what and when.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

WINDOW = dt.timedelta(hours=168)
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
CYCLE_MONTHS = {"monthly": 1, "annual": 12, "triennial": 36}
# Every NCE (term, billing cycle) combination Microsoft sells (§3.1).
PLANS: tuple[tuple[str, str], ...] = (
    ("P1M", "monthly"),
    ("P1Y", "monthly"),
    ("P1Y", "annual"),
    ("P3Y", "monthly"),
    ("P3Y", "annual"),
    ("P3Y", "triennial"),
)
# (product id, sku id, availability id, name, monthly price EUR); ids are invented in Microsoft's format.
PRODUCTS: tuple[tuple[str, str, str, str, Decimal], ...] = (
    ("CFQ7TTC0SBX1", "0001", "CFQ7TTC0SBX2", "Example 365 Business Basic", Decimal("5.60")),
    ("CFQ7TTC0SBX3", "0001", "CFQ7TTC0SBX4", "Example 365 Business Standard", Decimal("11.70")),
    ("CFQ7TTC0SBX5", "0002", "CFQ7TTC0SBX6", "Example 365 E3", Decimal("33.20")),
    ("CFQ7TTC0SBX7", "0001", "CFQ7TTC0SBX8", "Example Teams Phone Standard", Decimal("7.50")),
    ("CFQ7TTC0SBX9", "0003", "CFQ7TTC0SBXA", "Example Defender for Business", Decimal("2.80")),
)


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day-of-month ``months`` later, clipped to the last day of the target month (§3.2)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def trunc2(value: Decimal) -> Decimal:
    """Truncate to cents, as Partner Center does for effective unit prices (§3.3)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (the same seed, the same ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def at_time(day: dt.date, clock_time: dt.time) -> dt.datetime:
    """``day`` at ``clock_time`` UTC."""
    return dt.datetime.combine(day, clock_time, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SeatEvent:
    """A seat change (or purchase / renewal) at an instant; ``quantity`` is the seat count after it."""

    at: dt.datetime
    kind: str  # "new" | "renew" | "addQuantity" | "removeQuantity"
    delta: int
    quantity: int
    reference_id: str


@dataclass
class Subscription:
    """One NCE licence subscription with its full seat timeline."""

    id: str
    customer_id: str
    order_id: str
    product: tuple[str, str, str, str, Decimal]
    term: str
    billing_cycle: str
    purchased_at: dt.datetime
    auto_renew: bool
    changes: list[tuple[dt.datetime, int, str]] = field(default_factory=list)  # (at, delta, reference id)
    cancelled_at: dt.datetime | None = None  # set by a cancellation inside the 168-hour window

    @property
    def offer_id(self) -> str:
        return f"{self.product[0]}:{self.product[1]}:{self.product[2]}"

    @property
    def unit_price(self) -> Decimal:
        """Price per seat per charge cycle: monthly price × months in the cycle."""
        return self.product[4] * CYCLE_MONTHS[self.billing_cycle]

    def term_start(self, at: dt.datetime) -> dt.date:
        """Start date of the term running at ``at`` (monthly/annual terms renew on their anchor)."""
        anchor = self.purchased_at.date()
        months = TERM_MONTHS[self.term]
        k = 0
        while self.auto_renew and add_months(anchor, (k + 1) * months) <= at.date():
            k += 1
        return add_months(anchor, k * months)

    def status_at(self, at: dt.datetime) -> str:
        """``active`` until cancelled (``deleted``) or until a non-renewing term has ended (``expired``)."""
        if self.cancelled_at is not None and at >= self.cancelled_at:
            return "deleted"
        return "expired" if not self.auto_renew and at.date() > self.term_end(at) else "active"

    def renewed_at(self, at: dt.datetime) -> dt.datetime:
        """The instant the term running at ``at`` started (purchase or last renewal)."""
        return dt.datetime.combine(self.term_start(at), self.purchased_at.timetz())

    def term_end(self, at: dt.datetime) -> dt.date:
        """Inclusive last day of the term running at ``at``."""
        start = self.term_start(at)
        return add_months(start, TERM_MONTHS[self.term]) - dt.timedelta(days=1)

    def cycle(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The charge cycle containing ``day``: (start, inclusive end), anchored on the term start."""
        start = self.term_start(at_time(day, dt.time(23, 59)))
        months = CYCLE_MONTHS[self.billing_cycle]
        k = 0
        while add_months(start, (k + 1) * months) <= day:
            k += 1
        return add_months(start, k * months), add_months(start, (k + 1) * months) - dt.timedelta(days=1)

    def timeline(self, until: dt.datetime) -> list[SeatEvent]:
        """Purchase, renewals and seat changes up to ``until``, in order, each with the count after it."""
        raw: list[tuple[dt.datetime, str, int, str]] = [
            (self.purchased_at, "new", self.changes[0][1], self.changes[0][2])
        ]
        raw += [(at, "addQuantity" if d > 0 else "removeQuantity", d, ref) for at, d, ref in self.changes[1:]]
        anchor = self.purchased_at.date()
        k = 1
        while True:
            renewal = at_time(add_months(anchor, k * TERM_MONTHS[self.term]), self.purchased_at.timetz())
            if renewal > until or not self.auto_renew:
                break
            raw.append((renewal, "renew", 0, reference(self.id, renewal)))
            k += 1
        events, quantity = [], 0
        for at, kind, delta, ref in sorted(raw, key=lambda item: item[0]):
            if at > until or (self.cancelled_at is not None and at > self.cancelled_at):
                break
            quantity += delta
            events.append(SeatEvent(at, kind, delta, quantity, ref))
        if self.cancelled_at is not None and self.cancelled_at <= until:
            events.append(
                SeatEvent(
                    self.cancelled_at, "cancelImmediate", -quantity, 0, reference(self.id, "cancel", self.cancelled_at)
                )
            )
        return events

    def quantity_at(self, at: dt.datetime) -> int:
        events = self.timeline(at)
        return events[-1].quantity if events else 0

    def batches_at(self, at: dt.datetime) -> list[tuple[int, dt.datetime]]:
        """Open seat batches at ``at``: (seats, reducible until), newest batches reduced first (§3.5)."""
        batches: list[list] = []
        for event in self.timeline(at):
            if event.kind in ("new", "renew", "cancelImmediate"):
                batches = [[event.quantity, event.at]]
            elif event.delta > 0:
                batches.append([event.delta, event.at])
            else:
                left = -event.delta
                for batch in reversed(batches):
                    taken = min(left, batch[0])
                    batch[0] -= taken
                    left -= taken
        return [(q, added + WINDOW) for q, added in batches if q > 0 and added + WINDOW > at]


def reference(*parts: object) -> str:
    """A stable UUID-shaped id derived from ``parts`` (reference ids of seat events and meters)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
