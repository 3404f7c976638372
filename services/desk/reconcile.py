"""Reconciliation: per subscription and day of a month, what the vendor shows, what the desk asked, what was billed.

Three views (DESIGN §1.3, §3 "who wins"):
- **vendor**: the snapshots (the state first seen on a day holds until the next change, or from its confirming
  mutation's date: ``services.batches.confirmations``; ended = 0 seats);
- **desk**: the mutations not withdrawn (each holds from its effective date; a scheduled one from its renewal);
- **billed**: the net seats of the invoice lines of the subscription covering the day
  (``services.batches.billed_seats``: charges add, credits and reversals take away); empty until batches exist.

Only approved or exported batches count as billed: a draft is a proposal, not a bill. So the billed view of a month
is judged (``billed_vs_vendor``, ``negative_margin``) only once the month's batch is approved: until then nothing is
billed for its days yet, and the review cockpit compares the draft itself before approval
(``services.batches.vendor_counts``, the same check).

Each cause on a subscription becomes one ``Discrepancy`` for the month, with its day range, the money at stake
(``services.desk.stakes``) and a sentence a person can act on; ``services.desk.findings`` keeps it current run after
run, closes it with the reason when the cause is gone and reopens it when it comes back:
- ``vendor_change_unexplained`` "vendor shows 14 since 2026-05-12, no mutation" (changes no mutation confirms; a
  mutation confirms one change only, by the batch's test of a match: ``services.batches.confirmations``; the end
  of a term the vendor said would not renew, once it is over, is explained by the term); at stake: the changed seats
  from each change to the end of the reconciled days;
- ``mutation_not_provisioned`` "mutation 7 of 2026-05-03 (increase to 14, ticket T-1) not provisioned after 2
  days: vendor shows 12" (one per mutation; a mutation the vendor confirms is marked ``provisioned`` instead);
- ``billed_vs_vendor`` "billed 12, vendor 14 from 2026-05-12 to 2026-05-31"; at stake: the seat difference of
  every stretch;
- ``negative_margin`` when what we charge for stretches starting in the month is below what the vendor charges us
  for them (cost lines starting in it); judged, as on the batch page (``services.batches.findings``), only where
  the vendor has cost lines starting in the month: without them the cost is not known, and a credit (seats
  returned, a cancellation whose refund the vendor dates from the term's start) is no loss; at stake: the gap.

The report lists the subscriptions with a finding of this run (``every_subscription`` lists all of them: at a
million subscriptions that is a million rows), the month's cost, charge and margin per legal entity and currency
over every subscription compared, and the newest open discrepancies (``OPEN_LISTED``) with their total count: the
rest are paged by ``cspbill discrepancies list`` and the web desk's findings page.

A legal entity is read one range of customers at a time (``compute.partition_customers``, as a build reads it:
``ledger.shards``), so what is held at once is one range's subscriptions, snapshots, mutations and lines, and every
list of ids a query names stays within a statement's parameters (PostgreSQL takes at most 65,535). Subscriptions and
snapshots are read as rows with the models' columns (``ledger.repositories.batches``, ``states_for_subscriptions``:
the annotations name the models), not ORM objects, and the month's findings once per legal entity
(``FindingBook``): at a million subscriptions, building objects and one query per finding cost more than comparing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from config import Settings
from ledger.models import CostLine, Mutation, Snapshot, Subscription
from ledger.repositories.discrepancies import BilledView
from ledger.shards import Shard, ranges
from rating.money import Money
from rating.months import month_end
from rating.rounding import RoundingPolicy
from services import notifications as notices
from services.access import Actor, require
from services.batches.billed_seats import billed_seats
from services.batches.confirmations import LOOK_BACK, VendorChange, dated_states, vendor_changes
from services.batches.months import CLOSED
from services.batches.timeline import ENDED, Unbillable, VendorState, vendor_states
from services.batches.vendor_counts import count_gaps, describe, line_breaks, stretches, vendor_on
from services.clock import Clock
from services.desk.discrepancies import DiscrepancyView, view
from services.desk.findings import Finding, FindingBook, fingerprint
from services.desk.mutations import month_range
from services.desk.stakes import SeatDays, daily_price, margin_gap, seat_days_at_stake
from services.errors import NotFound
from services.runtime import engine_for
from services.uow import UnitOfWork

DailyPrice = Callable[[], Fraction | None]  # one seat's price per day (``_daily_price``), worked out when asked
PROVISIONING_DAYS = 2  # a mutation not seen at the vendor after this many days is flagged
OPEN_LISTED = 200  # open discrepancies a report carries (newest first); the findings list pages the rest


@dataclass(frozen=True)
class Segment:
    """Days ``first``..``last`` (inclusive) on which the three views stay the same (None = no such view)."""

    first: dt.date
    last: dt.date
    vendor: Decimal | None
    desk: Decimal | None
    billed: Decimal | None


@dataclass(frozen=True)
class SubscriptionReconciliation:
    subscription_id: int
    tenant: str
    customer: str
    product: str
    currency: str
    segments: tuple[Segment, ...]
    vendor_cost: Decimal  # what the vendor charged us for the month (cost lines starting in it)
    billed_amount: Decimal  # what we charged the customer for the month (invoice lines starting in it)
    findings: tuple[str, ...]

    @property
    def margin(self) -> Decimal:
        return self.billed_amount - self.vendor_cost


@dataclass(frozen=True)
class MarginTotal:
    """One legal entity's month in one currency, over every subscription compared (listed or not)."""

    tenant: str
    currency: str
    subscriptions: int
    vendor_cost: Decimal
    billed_amount: Decimal

    @property
    def margin(self) -> Decimal:
        return self.billed_amount - self.vendor_cost


@dataclass(frozen=True)
class ReconcileReport:
    month: str
    as_of: dt.datetime
    subscriptions: tuple[SubscriptionReconciliation, ...]  # with a finding of this run (or all: every_subscription)
    discrepancies: tuple[DiscrepancyView, ...]  # newest open ones of the tenants reconciled (OPEN_LISTED at most)
    raised: int  # new findings in this run
    provisioned: int  # mutations this run found confirmed by the vendor
    closed: int = 0  # findings this run found gone
    reopened: int = 0  # findings closed earlier whose cause came back
    totals: tuple[MarginTotal, ...] = ()  # per legal entity and currency, over every subscription compared
    open_count: int = 0  # open discrepancies in all (``discrepancies`` holds the newest of them)

    @property
    def checked(self) -> int:
        """Subscriptions compared (listed or not)."""
        return sum(total.subscriptions for total in self.totals)


def reconcile(settings: Settings, who: Actor, clock: Clock, month: str | None = None,
              tenant: str | None = None, every_subscription: bool = False) -> ReconcileReport:
    """Compare the three views for a month (default: the current one) and store every difference as a discrepancy;
    the report lists the subscriptions with a finding (``every_subscription``: all of them)."""
    require(who, "sync", tenant)
    now = clock.now()
    month = month or f"{now:%Y-%m}"
    first, last = month_range(month)
    codes = [t.code for t in settings.tenants if who.can_see(t.code) and (tenant is None or t.code == tenant)]
    results: list[SubscriptionReconciliation] = []
    totals: list[MarginTotal] = []
    raised = provisioned = closed = reopened = 0
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_ids: dict[int, str] = {}
        for code in codes:
            row = uow.tenants.by_code(code)
            if row is None:
                raise NotFound(f"tenant {code!r}: not in the ledger; run `cspbill init` first")
            tenant_ids[row.id] = code
            config = settings.tenant(code)
            today = now.astimezone(ZoneInfo(config.timezone)).date()
            book = FindingBook(uow, who, row.id, month, now)
            batch = uow.batches.for_month(row.id, month)
            checker = _Checker(uow, book, code, row.id, first, min(last, today), today,
                               RoundingPolicy(settings.rating_for(config).rounding_for(config.currency)),
                               billed_judged=batch is not None and batch.status in CLOSED)
            for compared in checker.run(ranges(uow.batches.customer_ids(row.id),
                                               settings.compute.partition_customers)):
                if every_subscription or compared.findings:
                    results.append(compared)
            book.close_gone()
            raised, closed, reopened = raised + book.raised, closed + book.closed, reopened + book.reopened
            provisioned += checker.provisioned
            totals += checker.totals()
        notices.new_findings(uow, settings, tenant_ids, now)
        open_rows = uow.discrepancies.search(list(tenant_ids), status="open", limit=OPEN_LISTED)
        views = tuple(view(d, tenant_ids) for d in open_rows)
        open_count = uow.discrepancies.count(list(tenant_ids), status="open")
    return ReconcileReport(month, now, tuple(results), views, raised, provisioned, closed, reopened, tuple(totals),
                           open_count)


class _Checker:
    """One legal entity's month: loads its rows once, then compares subscription by subscription."""

    def __init__(self, uow: UnitOfWork, book: FindingBook, code: str, tenant_id: int, first: dt.date,
                 last: dt.date, today: dt.date, policy: RoundingPolicy, billed_judged: bool) -> None:
        self.uow, self.book, self.code, self.tenant_id = uow, book, code, tenant_id
        self.first, self.last, self.today, self.policy = first, last, today, policy
        self.billed_judged = billed_judged
        self.month = f"{first:%Y-%m}"
        self.provisioned = 0
        self._sums: dict[str, list] = {}  # per currency: subscriptions, vendor cost, billed

    def run(self, shards: Sequence[Shard]) -> Iterator[SubscriptionReconciliation]:
        """Every subscription of the month, read and compared one shard of customers at a time: what is held at once
        is one shard's subscriptions, snapshots, mutations and lines, whatever the legal entity's size."""
        for withdrawn_id, cancelled_by in self.uow.mutations.withdrawn(self.tenant_id):
            self.book.explain(f"mutation_not_provisioned:{withdrawn_id}",
                              f"mutation {withdrawn_id} cancelled by {cancelled_by}")
        for shard in shards:
            for compared in self._shard(shard):
                sums = self._sums.setdefault(compared.currency, [0, Decimal(0), Decimal(0)])
                sums[0] += 1
                sums[1] += compared.vendor_cost
                sums[2] += compared.billed_amount
                yield compared

    def totals(self) -> list[MarginTotal]:
        """The month's cost, charge and margin per currency of the subscriptions :meth:`run` compared."""
        return [MarginTotal(self.code, currency, count, cost, billed)
                for currency, (count, cost, billed) in sorted(self._sums.items())]

    def _shard(self, shard: Shard) -> list[SubscriptionReconciliation]:
        subs = [s for s in self.uow.batches.subscriptions(self.tenant_id, shard)
                if (s.end_date is None or s.end_date >= self.first)]
        ids = [s.id for s in subs]
        snapshots = _grouped(self.uow.snapshots.states_for_subscriptions(ids, self.last), "subscription_id")
        mutations = _grouped([m for m in self.uow.mutations.for_subscriptions(ids) if m.status != "cancelled"],
                             "subscription_id")
        month_end_day = month_end(self.first)
        billed = _grouped(self.uow.discrepancies.billed_lines(ids, self.first, month_end_day), "subscription_id")
        costs = _grouped(self.uow.cost_lines.for_subscriptions(ids, self.first, month_end_day), "subscription_id")
        customers = {c.id: c.name for c in self.uow.batches.customers(self.tenant_id, shard)}
        results = []
        for sub in subs:
            history = snapshots.get(sub.id, [])
            if not history:
                continue
            results.append(self._subscription(sub, customers.get(sub.customer_id, ""), history,
                                              mutations.get(sub.id, []), billed.get(sub.id, []),
                                              costs.get(sub.id, [])))
        return results

    def _subscription(self, sub: Subscription, customer: str, history: Sequence[Snapshot],
                      mutations: Sequence[Mutation], billed: Sequence[BilledView],
                      costs: Sequence[CostLine]) -> SubscriptionReconciliation:
        found: list[Finding] = []
        try:
            states = vendor_states(history)
        except Unbillable as problem:
            found.append(Finding("unreconcilable", fingerprint("unreconcilable", sub.id, self.month), self.first,
                                 self.last, f"sub {sub.id}: {problem}"))
            states = []
        per_day = functools.partial(_daily_price, sub, states, billed, self.first)  # only a finding asks for it
        changes = vendor_changes(states, mutations, LOOK_BACK, sub.start_date)
        found += self._unexplained_changes(sub, changes, per_day)
        found += self._unprovisioned(sub, states, mutations, per_day)
        dated = dated_states(states, changes)
        segments = self._segments(dated, mutations, billed)
        # a one-time purchase is billed once, not per seat-day
        if self.billed_judged and sub.billing_type != "one_time":
            found += self._billed_differences(sub, dated, billed, per_day)
        month_costs = [c.subtotal for c in costs if self.first <= c.charge_start]
        vendor_cost = sum(month_costs, Decimal(0))
        billed_amount = sum((b.amount for b in billed if b.period_from and b.period_from >= self.first), Decimal(0))
        if self.billed_judged and billed and month_costs and billed_amount < vendor_cost:
            found.append(Finding(
                "negative_margin", fingerprint("negative_margin", sub.id, self.month), self.first, self.last,
                f"sub {sub.id}: billed {billed_amount} {sub.currency}, vendor cost {vendor_cost} {sub.currency} "
                f"in {self.first:%Y-%m}", margin_gap(billed_amount, vendor_cost, sub.currency, self.policy)))
        now_shows = vendor_on(states, self.last)
        self.book.checked(sub.id, f"vendor now shows {'nothing' if now_shows is None else now_shows}"
                          + (f", billed {billed_amount} {sub.currency} against vendor cost {vendor_cost}"
                             if billed else ""))
        return SubscriptionReconciliation(sub.id, self.code, customer, sub.product_name, sub.currency,
                                          tuple(segments), vendor_cost, billed_amount,
                                          tuple(self.book.record(sub, f) for f in found))

    def _unexplained_changes(self, sub: Subscription, all_changes: Sequence[VendorChange],
                             per_day: DailyPrice) -> list[Finding]:
        changes = [(change.before, change.after) for change in all_changes
                   if self.first <= change.after.day <= self.last and not _ran_out(sub, change.after)
                   and change.mutation is None]
        if not changes:
            return []
        latest = changes[-1][1]
        shown = "cancelled" if latest.status in ENDED else str(latest.quantity)
        sentence = f"sub {sub.id} ({sub.product_name}): vendor shows {shown} since {latest.day}, no mutation"
        if len(changes) > 1:
            sentence += f" ({len(changes)} changes without a mutation since {changes[0][1].day})"
        stretches = [SeatDays(Decimal(after.quantity - before.quantity), (self.last - after.day).days + 1)
                     for before, after in changes]
        kind = "vendor_change_unexplained"
        return [Finding(kind, fingerprint(kind, sub.id, self.month), changes[0][1].day, self.last, sentence,
                        self._at_stake(stretches, per_day, sub.currency))]

    def _at_stake(self, stretches: list[SeatDays], per_day: DailyPrice, currency: str) -> Money | None:
        price = per_day()
        return None if price is None else seat_days_at_stake(stretches, price, currency, self.policy)

    def _unprovisioned(self, sub: Subscription, states: list[VendorState], mutations: Sequence[Mutation],
                       per_day: DailyPrice) -> list[Finding]:
        found = []
        for mutation in mutations:
            if mutation.status != "open" or mutation.effective_date > self.today:
                continue
            earliest = mutation.effective_date - LOOK_BACK
            if any(state.day >= earliest and _reaches(mutation, state, before)
                   for before, state in zip([None, *states], states, strict=False)):
                mutation.status = "provisioned"
                self.provisioned += 1
                self.uow.audit.record(self.book.who.username, "mutation.provisioned", "mutation", mutation.id,
                                      self.tenant_id, before={"status": "open"}, after={"status": "provisioned"},
                                      at=self.book.now)
                continue
            waited = (self.today - mutation.effective_date).days
            if waited < PROVISIONING_DAYS:
                continue
            vendor = vendor_on(states, self.today)
            shown = "nothing" if vendor is None else str(vendor)
            sentence = (f"mutation {mutation.id} of {mutation.effective_date} ({_describe(mutation)}, ticket "
                        f"{mutation.ticket_ref}) not provisioned after {waited} days: vendor shows {shown}")
            wanted = _wanted(mutation, states)
            stake = [] if wanted is None or vendor is None else [SeatDays(wanted - vendor, waited)]
            found.append(Finding("mutation_not_provisioned", f"mutation_not_provisioned:{mutation.id}",
                                 mutation.effective_date, self.today, sentence,
                                 self._at_stake(stake, per_day, sub.currency) if stake else None))
        return found

    def _segments(self, states: list[VendorState], mutations: Sequence[Mutation],
                  billed: Sequence[BilledView]) -> list[Segment]:
        breaks = ({state.day for state in states} | line_breaks(billed)
                  | {mutation.scheduled_for or mutation.effective_date for mutation in mutations})
        return [Segment(first, last, *views) for first, last, views in stretches(
            self.first, self.last, breaks,
            lambda day: (vendor_on(states, day), _desk_on(mutations, day), billed_seats(billed, day)))]

    def _billed_differences(self, sub: Subscription, states: list[VendorState], billed: Sequence[BilledView],
                            per_day: DailyPrice) -> list[Finding]:
        gaps = count_gaps(states, billed, self.first, self.last)
        if not gaps:
            return []
        sentence = f"sub {sub.id} ({sub.product_name}): {describe(gaps)}"
        stretches_at_stake = [SeatDays(*gap.seat_days) for gap in gaps]
        kind = "billed_vs_vendor"
        return [Finding(kind, fingerprint(kind, sub.id, self.month), gaps[0].first, gaps[-1].last,
                        sentence, self._at_stake(stretches_at_stake, per_day, sub.currency))]


def _grouped(rows: Sequence, attribute: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return grouped


def _ran_out(sub: Subscription, after: VendorState) -> bool:
    """An end after the last day of a term the vendor said would not renew: the term explains it, no mutation can
    (the NCE rule refuses a cancellation after the window, and there is no renewal to schedule one for)."""
    return (after.status in ENDED and sub.auto_renew is False and sub.term_end is not None
            and after.day > sub.term_end)


def _reaches(mutation: Mutation, state: VendorState, before: VendorState | None) -> bool:
    """Whether the vendor state is what the mutation asked for."""
    if mutation.kind == "cancel":
        return state.status in ENDED
    if mutation.kind == "upgrade":
        return state.product == mutation.target_product
    if mutation.new_quantity is not None:
        return Decimal(state.quantity) == mutation.new_quantity and state.status not in ENDED
    return before is not None and before.quantity + (mutation.delta or 0) == state.quantity


def _wanted(mutation: Mutation, states: list[VendorState]) -> Decimal | None:
    """The seat count a quantity mutation asks for (None for a cancel or an upgrade)."""
    if mutation.new_quantity is not None:
        return mutation.new_quantity
    before = vendor_on(states, mutation.effective_date - dt.timedelta(days=1))
    return None if mutation.delta is None or before is None else before + mutation.delta


def _daily_price(sub: Subscription, states: list[VendorState], billed: Sequence[BilledView],
                 first: dt.date) -> Fraction | None:
    """One seat's price per day: the last billed charge's unit price, else the vendor's unit cost (per month)."""
    charges = [line for line in billed if line.kind == "charge" and line.period_from is not None]
    if charges:
        latest = max(charges, key=lambda line: (line.period_from, line.id))
        return daily_price(latest.unit_price, sub.billing, latest.period_from)
    costs = [state.unit_cost for state in states if state.unit_cost]
    return daily_price(costs[-1], "P1M", first) if costs else None


def _describe(mutation: Mutation) -> str:
    if mutation.kind == "upgrade":
        return f"upgrade to {mutation.target_product}"
    if mutation.kind == "cancel":
        return "cancel"
    return f"{mutation.kind} to {mutation.new_quantity}"


def _desk_on(mutations: Sequence[Mutation], day: dt.date) -> Decimal | None:
    current = None
    for mutation in sorted(mutations, key=lambda m: (m.scheduled_for or m.effective_date, m.id)):
        if (mutation.scheduled_for or mutation.effective_date) > day or mutation.kind == "upgrade":
            continue
        current = Decimal(0) if mutation.kind == "cancel" else mutation.new_quantity
    return current
