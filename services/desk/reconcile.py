"""Reconciliation: per subscription and day of a month, what the vendor shows, what the desk asked, what was billed.

Three views (DESIGN §1.3, §3 "who wins"):
- **vendor**: the snapshots (the state first seen on a day holds until the next change; ended = 0 seats);
- **desk**: the mutations not withdrawn (each holds from its effective date; a scheduled one from its renewal);
- **billed**: the invoice lines of the subscription covering the day (charges and corrections add, credits
  subtract); empty until batches exist.

Each difference becomes a ``Discrepancy`` with a sentence a person can act on, deduplicated by a fingerprint and
kept open until someone resolves it (``resolve_discrepancy``):
- ``vendor_change_unexplained`` "vendor shows 14 since 2026-05-12, no mutation" (a change no mutation confirms, by
  the same rule the batch uses to date changes: ``services.batches.timeline.confirming_mutation``);
- ``mutation_not_provisioned`` "mutation 7 of 2026-05-03 (increase to 14, ticket T-1) not provisioned after 2
  days: vendor shows 12" (a mutation the vendor confirms is marked ``provisioned`` instead);
- ``billed_vs_vendor`` "billed 12, vendor 14 from 2026-05-12 to 2026-05-31";
- ``negative_margin`` when what we charge for the month is below what the vendor charges us (cost lines).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from config import Settings
from ledger.models import CostLine, InvoiceLine, Mutation, Snapshot, Subscription
from rating.months import month_end
from services import notifications as notices
from services.access import Actor, require
from services.batches.timeline import ENDED, Unbillable, VendorState, confirming_mutation, vendor_states
from services.clock import Clock
from services.desk.discrepancies import DiscrepancyView, view
from services.desk.mutations import month_range
from services.errors import NotFound
from services.runtime import engine_for
from services.uow import UnitOfWork

PROVISIONING_DAYS = 2  # a mutation not seen at the vendor after this many days is flagged
EARLY_DAYS = 7  # the vendor may show a change up to this many days before the desk's effective date
SUBTRACTING_KINDS = frozenset({"credit"})


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
class ReconcileReport:
    month: str
    as_of: dt.datetime
    subscriptions: tuple[SubscriptionReconciliation, ...]
    discrepancies: tuple[DiscrepancyView, ...]  # open ones of the tenants reconciled (including earlier findings)
    raised: int  # new findings in this run
    provisioned: int  # mutations this run found confirmed by the vendor


def reconcile(settings: Settings, who: Actor, clock: Clock, month: str | None = None,
              tenant: str | None = None) -> ReconcileReport:
    """Compare the three views for a month (default: the current one) and store every difference as a discrepancy."""
    require(who, "sync", tenant)
    now = clock.now()
    month = month or f"{now:%Y-%m}"
    first, last = month_range(month)
    codes = [t.code for t in settings.tenants if who.can_see(t.code) and (tenant is None or t.code == tenant)]
    results: list[SubscriptionReconciliation] = []
    raised = provisioned = 0
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_ids: dict[int, str] = {}
        for code in codes:
            row = uow.tenants.by_code(code)
            if row is None:
                raise NotFound(f"tenant {code!r}: not in the ledger; run `cspbill init` first")
            tenant_ids[row.id] = code
            today = now.astimezone(ZoneInfo(settings.tenant(code).timezone)).date()
            checker = _Checker(uow, who, code, row.id, first, min(last, today), today, now)
            results += checker.run()
            raised += checker.raised
            provisioned += checker.provisioned
        notices.new_findings(uow, settings, tenant_ids, now)
        open_rows = uow.discrepancies.search(list(tenant_ids), status="open", limit=10_000)
        views = tuple(view(d, tenant_ids) for d in open_rows)
    return ReconcileReport(month, now, tuple(results), views, raised, provisioned)


class _Checker:
    """One legal entity's month: loads its rows once, then compares subscription by subscription."""

    def __init__(self, uow: UnitOfWork, who: Actor, code: str, tenant_id: int, first: dt.date, last: dt.date,
                 today: dt.date, now: dt.datetime) -> None:
        self.uow, self.who, self.code, self.tenant_id = uow, who, code, tenant_id
        self.first, self.last, self.today, self.now = first, last, today, now
        self.raised = self.provisioned = 0

    def run(self) -> list[SubscriptionReconciliation]:
        subs = [s for s in self.uow.subscriptions.for_tenant(self.tenant_id)
                if (s.end_date is None or s.end_date >= self.first)]
        ids = [s.id for s in subs]
        snapshots = _grouped(self.uow.snapshots.for_subscriptions(ids, self.last), "subscription_id")
        mutations = _grouped([m for m in self.uow.mutations.search([self.tenant_id], limit=1_000_000)
                              if m.status != "cancelled"], "subscription_id")
        month_end_day = month_end(self.first)
        billed = _grouped(self.uow.discrepancies.billed_lines(ids, self.first, month_end_day), "subscription_id")
        costs = _grouped(self.uow.cost_lines.for_subscriptions(ids, self.first, month_end_day), "subscription_id")
        customers = {c.id: c.name for c in self.uow.customers.search([self.tenant_id], limit=1_000_000)}
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
                      mutations: Sequence[Mutation], billed: Sequence[InvoiceLine],
                      costs: Sequence[CostLine]) -> SubscriptionReconciliation:
        findings: list[str] = []
        try:
            states = vendor_states(history)
        except Unbillable as problem:
            findings.append(self._raise(sub, "unreconcilable", None, f"sub {sub.id}: {problem}",
                                        f"unreconcilable:{sub.id}:{history[-1].id}"))
            states = []
        findings += self._unexplained_changes(sub, states, mutations)
        findings += self._unprovisioned(sub, states, mutations)
        segments = self._segments(states, mutations, billed)
        if sub.billing_type != "one_time":  # a one-time purchase is billed once, not per seat-day
            findings += self._billed_differences(sub, segments)
        vendor_cost = sum((c.subtotal for c in costs if self.first <= c.charge_start), Decimal(0))
        billed_amount = sum((b.amount for b in billed if b.period_from and b.period_from >= self.first), Decimal(0))
        if billed and billed_amount < vendor_cost:
            findings.append(self._raise(
                sub, "negative_margin", self.first,
                f"sub {sub.id}: billed {billed_amount} {sub.currency}, vendor cost {vendor_cost} {sub.currency} "
                f"in {self.first:%Y-%m}", f"negative_margin:{sub.id}:{self.first:%Y-%m}"))
        return SubscriptionReconciliation(sub.id, self.code, customer, sub.product_name, sub.currency,
                                          tuple(segments), vendor_cost, billed_amount, tuple(findings))

    def _unexplained_changes(self, sub: Subscription, states: list[VendorState],
                             mutations: Sequence[Mutation]) -> list[str]:
        found = []
        for before, after in pairwise(states):
            if not self.first <= after.day <= self.last:
                continue
            if confirming_mutation(mutations, before, after, before.day - dt.timedelta(days=EARLY_DAYS)):
                continue
            shown = "cancelled" if after.status in ENDED else str(after.quantity)
            sentence = f"sub {sub.id} ({sub.product_name}): vendor shows {shown} since {after.day}, no mutation"
            found.append(self._raise(sub, "vendor_change_unexplained", after.day, sentence,
                                     f"vendor_change_unexplained:{sub.id}:{after.snapshot_id}"))
        return found

    def _unprovisioned(self, sub: Subscription, states: list[VendorState], mutations: Sequence[Mutation]) -> list[str]:
        found = []
        for mutation in mutations:
            if mutation.status != "open" or mutation.effective_date > self.today:
                continue
            earliest = mutation.effective_date - dt.timedelta(days=EARLY_DAYS)
            if any(state.day >= earliest and _reaches(mutation, state, before)
                   for before, state in zip([None, *states], states, strict=False)):
                mutation.status = "provisioned"
                self.provisioned += 1
                self.uow.audit.record(self.who.username, "mutation.provisioned", "mutation", mutation.id,
                                      self.tenant_id, before={"status": "open"}, after={"status": "provisioned"},
                                      at=self.now)
                continue
            waited = (self.today - mutation.effective_date).days
            if waited < PROVISIONING_DAYS:
                continue
            vendor = _vendor_on(states, self.today)
            shown = "nothing" if vendor is None else str(vendor)
            sentence = (f"mutation {mutation.id} of {mutation.effective_date} ({_describe(mutation)}, ticket "
                        f"{mutation.ticket_ref}) not provisioned after {waited} days: vendor shows {shown}")
            found.append(self._raise(sub, "mutation_not_provisioned", mutation.effective_date, sentence,
                                     f"mutation_not_provisioned:{mutation.id}"))
        return found

    def _segments(self, states: list[VendorState], mutations: Sequence[Mutation],
                  billed: Sequence[InvoiceLine]) -> list[Segment]:
        segments: list[Segment] = []
        day = self.first
        while day <= self.last:
            views = (_vendor_on(states, day), _desk_on(mutations, day), _billed_on(billed, day))
            if segments and (segments[-1].vendor, segments[-1].desk, segments[-1].billed) == views:
                previous = segments[-1]
                segments[-1] = Segment(previous.first, day, *views)
            else:
                segments.append(Segment(day, day, *views))
            day += dt.timedelta(days=1)
        return segments

    def _billed_differences(self, sub: Subscription, segments: list[Segment]) -> list[str]:
        found = []
        for seg in segments:
            if seg.billed is None or seg.vendor is None or seg.billed == seg.vendor:
                continue
            sentence = (f"sub {sub.id} ({sub.product_name}): billed {seg.billed}, vendor {seg.vendor} from "
                        f"{seg.first} to {seg.last}")
            found.append(self._raise(sub, "billed_vs_vendor", seg.first, sentence,
                                     f"billed_vs_vendor:{sub.id}:{seg.first}:{seg.billed}:{seg.vendor}"))
        return found

    def _raise(self, sub: Subscription, kind: str, day: dt.date | None, sentence: str, fingerprint: str) -> str:
        _, created = self.uow.discrepancies.raise_(
            fingerprint, self.now, tenant_id=self.tenant_id, customer_id=sub.customer_id, subscription_id=sub.id,
            kind=kind, day=day, sentence=sentence, details={"month": f"{self.first:%Y-%m}"},
        )
        self.raised += int(created)
        return sentence


def _grouped(rows: Sequence, attribute: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return grouped


def _reaches(mutation: Mutation, state: VendorState, before: VendorState | None) -> bool:
    """Whether the vendor state is what the mutation asked for."""
    if mutation.kind == "cancel":
        return state.status in ENDED
    if mutation.kind == "upgrade":
        return state.product == mutation.target_product
    if mutation.new_quantity is not None:
        return Decimal(state.quantity) == mutation.new_quantity and state.status not in ENDED
    return before is not None and before.quantity + (mutation.delta or 0) == state.quantity


def _describe(mutation: Mutation) -> str:
    if mutation.kind == "upgrade":
        return f"upgrade to {mutation.target_product}"
    if mutation.kind == "cancel":
        return "cancel"
    return f"{mutation.kind} to {mutation.new_quantity}"


def _vendor_on(states: list[VendorState], day: dt.date) -> Decimal | None:
    current = None
    for state in states:
        if state.day > day:
            break
        current = Decimal(0) if state.status in ENDED else Decimal(state.quantity)
    return current


def _desk_on(mutations: Sequence[Mutation], day: dt.date) -> Decimal | None:
    current = None
    for mutation in sorted(mutations, key=lambda m: (m.scheduled_for or m.effective_date, m.id)):
        if (mutation.scheduled_for or mutation.effective_date) > day or mutation.kind == "upgrade":
            continue
        current = Decimal(0) if mutation.kind == "cancel" else mutation.new_quantity
    return current


def _billed_on(lines: Sequence[InvoiceLine], day: dt.date) -> Decimal | None:
    covering = [line for line in lines if line.period_from and line.period_to
                and line.period_from <= day <= line.period_to and line.kind != "usage"]
    if not covering:
        return None
    return sum((-line.quantity if line.kind in SUBTRACTING_KINDS else line.quantity for line in covering), Decimal(0))
