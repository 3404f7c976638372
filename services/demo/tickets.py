"""The demo desk's tickets for the customers' requests: one mutation per seat change or cancellation the sandbox
worlds show during the month, entered the night before the nightly sync shows it.

Why: the seeded worlds change seats on almost every subscription during the month (customer requests). A real
reseller's desk enters a ticket for each; the vendor change then has its mutation, which supplies the effective
date and the reason (DESIGN §3 "Who wins"), and reconciliation raises nothing. Without them the month's findings
are hundreds of ``vendor_change_unexplained`` and the few that need a person drown.

The requests come from the sandboxes' own plan (``sandbox.customer_requests``, the same seed and month), never from
the ledger's snapshots. A change the vendor makes during a day is first seen by the next night's sync; the ticket
takes effect that day ("from tomorrow", as the desk's own increase on its ticket day does), so the batch bills the
change from the same day as without a ticket, now with the mutation in its lineage. It is entered the night before,
after that night's sync, as the desk person through ``services.desk.add_mutation``: the NCE rules apply and, at
Partner Center, the provisioning outbox finds the change already applied once the vendor shows it. What stays for
people to act on:
- ``PORTAL_CHANGES``: requests the customer made in the vendor's portal without telling the desk (no ticket);
- tickets our rules refuse (e.g. a reduction outside the 168-hour window): counted, the finding stays.
A change first shown by the next month's first night (made on the month's last day) is the next month's ticket: the
replay does not run that night. A ticket already in the ledger (an earlier run) is found through ``list_mutations``
and not entered again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from config import Settings
from rating.months import month_end
from sandbox.customer_requests import SeatRequest, customer_requests
from services.access import Actor
from services.clock import Clock
from services.demo.settings import SOURCE_SANDBOX
from services.desk import MutationRequest, add_mutation, list_mutations
from services.errors import ValidationFailed
from services.runtime import engine_for
from services.sync.licences import ledger_external_id
from services.uow import UnitOfWork

# The source kind (config.yaml ``sources[].kind``) each sandbox vendor is read through.
SOURCE_KINDS = {sandbox: kind for kind, sandbox in SOURCE_SANDBOX.items()}
# Requests the customer made in the vendor's portal and nobody told the desk: the n-th request (1-based, in time
# order) at each vendor gets no ticket, so the month shows a few unexplained vendor changes to chase.
PORTAL_CHANGES: dict[str, tuple[int, ...]] = {"partner_center": (9,), "pax8": (40,), "ingram": (25,)}
TICKET = "REQ-{month:%y%m}-{number:03d}"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Ticket:
    """A customer request the desk enters: where it lands in the ledger and the day it takes effect."""

    number: str
    source: str  # the ledger's source name
    external_id: str  # the subscription's external id in the ledger
    effective: dt.date  # the day the nightly sync first shows the change (the legal entity's billing day)
    request: SeatRequest

    def describe(self) -> str:
        seats = abs(self.request.after - self.request.before)
        if self.request.cancel:
            return "customer cancelled the subscription"
        if self.request.after > self.request.before:
            return f"customer asked for {seats} more seat{'s' if seats > 1 else ''}"
        return f"customer asked to remove {seats} seat{'s' if seats > 1 else ''}"

    def mutation(self, subscription_id: int) -> MutationRequest:
        change = Decimal(self.request.after - self.request.before)
        if self.request.cancel:
            return MutationRequest(subscription_id, self.effective, self.number, cancel=True, reason=self.describe())
        return MutationRequest(subscription_id, self.effective, self.number, delta=change, reason=self.describe())


@dataclass(frozen=True)
class MonthPlan:
    """The month's tickets by the night they are entered on, and the portal changes (no ticket) by night."""

    tickets: dict[dt.date, list[Ticket]]
    portal: dict[dt.date, int]


def plan_tickets(settings: Settings, seed: int, month: dt.date, night: dt.time) -> MonthPlan:
    """The tickets for the requests of the sandboxes of ``seed`` in ``month`` that a night of the month shows.

    ``night`` is the time of the nightly sync in the schedule's zone: a change is first shown by the first night after
    it, on that night's billing day in the source's legal entity's zone; its ticket is entered the night before.
    Requests of vendors no enabled source reads are left out.
    """
    tickets: dict[dt.date, list[Ticket]] = defaultdict(list)
    portal: dict[dt.date, int] = Counter()
    seen: Counter[str] = Counter()
    for number, request in enumerate(customer_requests(seed, month), start=1):
        seen[request.vendor] += 1
        source = next((s for s in settings.sources if s.enabled and s.kind == SOURCE_KINDS.get(request.vendor)), None)
        if source is None:
            continue
        shown = _first_night(request.at, night, ZoneInfo(settings.schedule.timezone))
        effective = shown.astimezone(ZoneInfo(settings.tenant(source.tenant).timezone)).date()
        if effective > month_end(month):
            continue
        eve = effective - dt.timedelta(days=1)
        if seen[request.vendor] in PORTAL_CHANGES.get(request.vendor, ()):
            portal[eve] += 1
            continue
        tickets[eve].append(Ticket(TICKET.format(month=month, number=number), source.name,
                                   ledger_external_id(request.subscription_id, request.line_id), effective, request))
    return MonthPlan(dict(tickets), dict(portal))


class DeskTickets:
    """The desk person entering the month's tickets night by night; ``counts`` says what this run did with them
    (``<source>_entered``, ``<source>_refused``, ``left_to_portal``)."""

    def __init__(self, settings: Settings, desk: Actor, plan: MonthPlan, month: dt.date) -> None:
        self.settings, self.desk, self.plan = settings, desk, plan
        self.counts: Counter[str] = Counter()
        self.entered = {m.ticket_ref for m in list_mutations(settings, desk, month=f"{month:%Y-%m}")}

    def enter(self, night: dt.date, clock: Clock, progress: Progress) -> None:
        """Enter the tickets of the changes the next night's sync will show (after ``night``'s sync)."""
        self.counts["left_to_portal"] += self.plan.portal.get(night, 0)
        tickets = [t for t in self.plan.tickets.get(night, []) if t.number not in self.entered]
        if not tickets:
            return
        with UnitOfWork(engine_for(self.settings)) as uow:
            found = {t.number: uow.subscriptions.by_external_id(t.source, t.external_id) for t in tickets}
            ids = {number: sub.id for number, sub in found.items() if sub is not None}
        refused = []
        for ticket in tickets:
            if ticket.number not in ids:
                self.counts[f"{ticket.source}_not_in_ledger"] += 1
                progress(f"desk: ticket {ticket.number} names {ticket.source} subscription {ticket.external_id}, "
                         "which no sync has read")
                continue
            try:
                add_mutation(self.settings, self.desk, ticket.mutation(ids[ticket.number]), clock)
                self.counts[f"{ticket.source}_entered"] += 1
            except ValidationFailed as exc:
                self.counts[f"{ticket.source}_refused"] += 1
                refused.append(f"{ticket.number}: {exc}")
        progress(f"desk: {len(tickets) - len(refused)} tickets for customer requests of {night}"
                 + "".join(f"; refused {sentence}" for sentence in refused))

    @property
    def refused(self) -> int:
        return sum(count for key, count in self.counts.items() if key.endswith("_refused"))


def _first_night(at: dt.datetime, night: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first nightly sync after the instant ``at``."""
    local = at.astimezone(zone)
    same_day = dt.datetime.combine(local.date(), night, tzinfo=zone)
    return same_day if same_day > local else dt.datetime.combine(local.date() + dt.timedelta(days=1), night,
                                                                 tzinfo=zone)
