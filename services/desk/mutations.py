"""Service-desk mutations: a request to change a subscription, checked against its term and the NCE rules first.

A mutation is saved only when the rule (``rating.nce.decide``) allows it now (status ``open``: waiting to be
seen at the vendor) or, when the desk asks for it, as scheduled for the renewal (status ``scheduled``); otherwise the
desk gets one sentence naming the rule and the next allowed date, and nothing is saved. The vendor's seat batches
come from the latest snapshot's ``refundable_batches`` where the source states them (Partner Center), else from the
snapshot history (each increase, and each new term, is a batch added when it was first seen). Adding the same
ticket twice returns the first mutation (safe to re-run); every change is audited. On a source with
``provisioning: true`` the saved mutation is queued for the vendor in the same transaction, and an upgrade's target
is checked against Partner Center's transition eligibilities first (``services.desk.provisioning``).

Before the NCE rule, a seat count must be plausible (``services.desk.plausibility``: whole, 0 or more, at most the
product's ``desk.mutations`` maximum); bad input is refused with ``InvalidFields``, a plain sentence per form field.
``check_request`` and ``decide_now`` are shared with the preview (``services.desk.mutation_preview``), so what the
preview accepts is what saving accepts. A pending mutation can be withdrawn until it was sent to the vendor, the
vendor shows it, or an invoice line names it in its lineage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from sqlalchemy import Text, cast, select

from config import Settings
from ledger.models import Invoice, InvoiceLine, Mutation, Snapshot, Subscription
from rating.months import month_bounds
from rating.nce import WINDOW, Change, Decision, SeatBatch, Terms, allowed_reduction, decide
from services.access import Actor, require
from services.clock import Clock
from services.desk.plausibility import NO_TICKET, seat_refusal
from services.desk.provisioning import checked_upgrade_target, queue_for_vendor, withdraw
from services.errors import InvalidFields, NotFound, ValidationFailed
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

Kind = Literal["increase", "decrease", "cancel", "upgrade"]
ACTIVE_STATUSES = ("open", "scheduled", "provisioned")


@dataclass(frozen=True)
class MutationRequest:
    """What the desk enters: exactly one of ``new_quantity`` / ``delta``, or ``cancel``, or an upgrade target."""

    subscription_id: int
    effective_date: dt.date
    ticket_ref: str
    new_quantity: Decimal | None = None
    delta: Decimal | None = None
    cancel: bool = False
    target_product: str | None = None
    reason: str | None = None
    customer_id: int | None = None  # when given, must be the subscription's customer
    schedule_if_late: bool = False  # a reduction outside the 168-hour window: schedule for renewal instead of refusing


@dataclass(frozen=True)
class MutationView:
    id: int
    tenant: str
    customer_id: int
    customer: str
    subscription_id: int
    product: str
    kind: str
    effective_date: dt.date
    new_quantity: Decimal | None
    delta: Decimal | None
    target_product: str | None
    ticket_ref: str
    reason: str | None
    status: str
    scheduled_for: dt.date | None
    created_by: str
    created_at: dt.datetime
    cancelled_by: str | None
    cancelled_at: dt.datetime | None
    vendor_status: str | None = None  # provisioning at the vendor: queued, sending, applied, confirmed, refused, ...
    vendor_reason: str | None = None  # the vendor's refusal (code and sentence) or the last error


def _tenant_codes(uow: UnitOfWork) -> dict[int, str]:
    return {t.id: t.code for t in uow.tenants.all()}


def _visible_subscription(uow: UnitOfWork, who: Actor, subscription_id: int,
                          lock: bool = False) -> tuple[Subscription, str]:
    subscription = uow.subscriptions.get(subscription_id, lock=lock)
    code = _tenant_codes(uow).get(subscription.tenant_id) if subscription else None
    if subscription is None or code is None or not who.can_see(code):
        raise NotFound(f"subscription {subscription_id}: not found")
    return subscription, code


def view(uow: UnitOfWork, mutation: Mutation, tenant_code: str) -> MutationView:
    subscription = uow.subscriptions.get(mutation.subscription_id)
    customer = uow.customers.get(mutation.customer_id)
    sent = uow.provisionings.for_mutation(mutation.id)
    reason = sent and (f"{sent.vendor_code}: {sent.vendor_reason}" if sent.vendor_reason else sent.last_error)
    return MutationView(
        mutation.id, tenant_code, mutation.customer_id, customer.name, mutation.subscription_id,
        subscription.product_name, mutation.kind, mutation.effective_date, mutation.new_quantity, mutation.delta,
        mutation.target_product, mutation.ticket_ref, mutation.reason, mutation.status, mutation.scheduled_for,
        mutation.created_by, mutation.created_at, mutation.cancelled_by, mutation.cancelled_at,
        sent.status if sent else None, reason or None,
    )


def seat_batches(history: Sequence[Snapshot]) -> list[SeatBatch]:
    """The seat batches behind a subscription's snapshots (oldest first).

    Stated batches (``raw.record.refundable_batches``) win when the source gives them; otherwise each new term and
    each increase is a batch added when it was first seen (a term's first seats: at the term start), and decreases
    take seats from the newest batches first.
    """
    if not history:
        return []
    stated = [s for s in history if (s.raw.get("record") or {}).get("refundable_batches")]
    if stated:
        batches = stated[-1].raw["record"]["refundable_batches"] if stated[-1] is history[-1] else []
        return [SeatBatch(Decimal(q), dt.datetime.fromisoformat(until) - WINDOW, dt.datetime.fromisoformat(until))
                for q, until in batches]
    derived: list[SeatBatch] = []
    previous_quantity, previous_term = Decimal(0), None
    for snap in history:
        term_start = (snap.raw.get("record") or {}).get("term_start")
        if term_start != previous_term:  # a new term (or the first one we see): all its seats form one batch
            started = snap.observed_at
            if term_start:
                started = min(started, dt.datetime.combine(dt.date.fromisoformat(term_start), dt.time(0), dt.UTC))
            derived = [SeatBatch.added(snap.quantity, started)]
            previous_quantity, previous_term = snap.quantity, term_start
            continue
        if snap.quantity > previous_quantity:
            derived.append(SeatBatch.added(snap.quantity - previous_quantity, snap.observed_at))
        elif snap.quantity < previous_quantity:
            derived = _take(derived, previous_quantity - snap.quantity)
        previous_quantity = snap.quantity
    return derived


def _take(batches: list[SeatBatch], seats: Decimal) -> list[SeatBatch]:
    """Remove ``seats`` from the newest batches first."""
    kept = list(batches)
    while seats > 0 and kept:
        newest = kept.pop()
        if newest.quantity > seats:
            kept.append(SeatBatch(newest.quantity - seats, newest.added_at, newest.reducible_until))
            seats = Decimal(0)
        else:
            seats -= newest.quantity
    return kept


def terms_of(subscription: Subscription, quantity: Decimal) -> Terms:
    return Terms(
        name=f"sub {subscription.id} ({subscription.product_name})",
        quantity=quantity,
        status=subscription.status,
        commitment_term=subscription.term,
        start_date=subscription.start_date,
        term_end=subscription.term_end,
        end_date=subscription.end_date,
        auto_renew=subscription.auto_renew,
    )


NO_CHANGE = "Enter the new seat count, a change (+3 or -2), or tick cancel — one of them."


def _change(request: MutationRequest, current: Decimal) -> tuple[Kind, Change]:
    given = [request.new_quantity is not None, request.delta is not None, request.cancel]
    record = f"mutation of sub {request.subscription_id}"
    if request.target_product:
        if any(given):
            raise InvalidFields(record, {"target_product": "An upgrade moves all seats to the target product: leave "
                                                           "the seat count, the change and cancel empty."})
        return "upgrade", Change("upgrade", request.effective_date)
    if sum(given) != 1:
        raise InvalidFields(record, {"new_quantity": NO_CHANGE})
    if request.cancel:
        return "cancel", Change("cancel", request.effective_date, Decimal(0))
    new = request.new_quantity if request.new_quantity is not None else current + request.delta
    if new == current:
        field = "new_quantity" if request.new_quantity is not None else "delta"
        raise InvalidFields(record, {field: f"The subscription has {current} seats already: enter a different "
                                            "number."})
    kind: Kind = "increase" if new > current else "decrease"
    return kind, Change(kind, request.effective_date, new)


@dataclass(frozen=True)
class Checked:
    """A request checked for everything but the NCE rule: the subscription, its seats now and the change."""

    subscription: Subscription
    tenant_code: str
    history: Sequence[Snapshot]
    current: Decimal
    kind: Kind
    change: Change


def check_request(uow: UnitOfWork, settings: Settings, who: Actor, request: MutationRequest,
                  lock: bool = False) -> Checked:
    """The subscription (visible to ``who``, in a tenant where ``who`` is desk), the change it asks for and the
    plausibility limits of ``desk.mutations``; raises ``InvalidFields`` naming the field. ``lock``: the
    subscription is read ``FOR UPDATE`` by a request about to be saved, so two saves for one subscription take
    turns on PostgreSQL (a form sent twice finds the first one's mutation, by its ticket)."""
    subscription, tenant_code = _visible_subscription(uow, who, request.subscription_id, lock)
    require(who, "desk", tenant_code)
    record = f"mutation of sub {subscription.id}"
    if request.customer_id is not None and request.customer_id != subscription.customer_id:
        raise InvalidFields(record, {"customer_id": f"Customer {request.customer_id} does not hold this "
                                                    f"subscription; customer {subscription.customer_id} does."})
    history = uow.snapshots.history(subscription.id)
    current = history[-1].quantity if history else Decimal(0)
    kind, change = _change(request, current)
    if change.new_quantity is not None and kind != "cancel":
        maximum = settings.desk.mutations.max_for(subscription.product_id, subscription.product_name)
        refusal = seat_refusal(change.new_quantity, maximum)
        if refusal:
            raise InvalidFields(record, {"new_quantity" if request.delta is None else "delta": refusal})
    return Checked(subscription, tenant_code, history, current, kind, change)


def decide_now(checked: Checked, request: MutationRequest, now: dt.datetime) -> Decision:
    """The NCE rule's answer for the checked change at ``now``; refused: ``ValidationFailed`` with its sentence."""
    decision = decide(checked.change, terms_of(checked.subscription, checked.current), seat_batches(checked.history),
                      now, schedule_if_late=request.schedule_if_late)
    if decision.outcome == "refused":
        raise ValidationFailed(decision.reason)
    return decision


def add_mutation(settings: Settings, who: Actor, request: MutationRequest, clock: Clock) -> MutationView:
    """Validate a desk request against the subscription's term and the NCE rules, then save it (or refuse)."""
    require(who, "desk")
    if not request.ticket_ref.strip():
        raise InvalidFields(f"mutation of sub {request.subscription_id}", {"ticket_ref": NO_TICKET})
    if request.target_product:
        target = checked_upgrade_target(settings, who, request.subscription_id, request.target_product)
        request = replace(request, target_product=target)
    now = clock.now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        checked = check_request(uow, settings, who, request, lock=True)
        subscription, tenant_code, current = checked.subscription, checked.tenant_code, checked.current
        kind, change = checked.kind, checked.change
        for existing in uow.mutations.by_ticket(subscription.id, request.ticket_ref):
            same = (existing.kind, existing.effective_date, existing.new_quantity, existing.target_product) == (
                kind, request.effective_date, change.new_quantity, request.target_product)
            if same and existing.status != "cancelled":
                return view(uow, existing, tenant_code)
        decision = decide_now(checked, request, now)
        mutation = uow.mutations.add(
            tenant_id=subscription.tenant_id, customer_id=subscription.customer_id, subscription_id=subscription.id,
            kind=kind, effective_date=request.effective_date, new_quantity=change.new_quantity,
            delta=None if change.new_quantity is None else change.new_quantity - current,
            target_product=request.target_product, ticket_ref=request.ticket_ref.strip(), reason=request.reason,
            status="scheduled" if decision.outcome == "scheduled" else "open", scheduled_for=decision.scheduled_for,
            created_by=who.username, created_at=now,
        )
        uow.audit.record(who.username, "mutation.add", "mutation", mutation.id, subscription.tenant_id,
                         after=_audit_fields(mutation), detail=decision.reason or None, at=now)
        queue_for_vendor(uow, settings, mutation, subscription, now)
        return view(uow, mutation, tenant_code)


def _audit_fields(mutation: Mutation) -> dict[str, object]:
    return {
        "subscription_id": mutation.subscription_id, "kind": mutation.kind,
        "effective_date": mutation.effective_date.isoformat(),
        "new_quantity": None if mutation.new_quantity is None else str(mutation.new_quantity),
        "ticket_ref": mutation.ticket_ref, "status": mutation.status,
        "scheduled_for": mutation.scheduled_for and mutation.scheduled_for.isoformat(),
    }


def cancel_mutation(settings: Settings, who: Actor, mutation_id: int, clock: Clock) -> MutationView:
    """Withdraw a desk request the vendor has not got yet and no invoice names (cancelling twice is a no-op);
    refused with a sentence saying why once it was sent, seen at the vendor or billed."""
    require(who, "desk")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        mutation = uow.mutations.get(mutation_id, lock=True)  # withdrawn once, whoever else withdraws it
        code = _tenant_codes(uow).get(mutation.tenant_id) if mutation else None
        if mutation is None or code is None or not who.can_see(code):
            raise NotFound(f"mutation {mutation_id}: not found")
        require(who, "desk", code)
        if mutation.status == "cancelled":
            return view(uow, mutation, code)
        invoices = billed_on(uow, mutation.id)
        if invoices:
            raise ValidationFailed(f"Mutation {mutation_id} cannot be withdrawn: it is already billed (invoice "
                                   f"{', '.join(invoices)}). Enter a new mutation to change the seats back.")
        if mutation.status not in ("open", "scheduled"):
            why = UNDO_TOO_LATE.get(mutation.status, f"its status is {mutation.status}")
            raise ValidationFailed(f"Mutation {mutation_id} cannot be withdrawn: {why}. Enter a new mutation to "
                                   "change the seats back.")
        withdraw(uow, mutation)
        before = _audit_fields(mutation)
        now = clock.now()
        mutation.status, mutation.cancelled_by, mutation.cancelled_at = "cancelled", who.username, now
        uow.audit.record(who.username, "mutation.cancel", "mutation", mutation.id, mutation.tenant_id,
                         before=before, after=_audit_fields(mutation), at=now)
        return view(uow, mutation, code)


UNDO_TOO_LATE = {"provisioned": "the vendor already shows this change", "refused": "the vendor refused it, so "
                 "there is nothing to withdraw"}


def billed_on(uow: UnitOfWork, mutation_id: int) -> list[str]:
    """Numbers (or keys, while draft) of the invoices whose lines name the mutation in their lineage."""
    needle = f'%"mutation:{mutation_id}"%'
    rows = uow.session.execute(
        select(Invoice.number, Invoice.invoice_key).join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(cast(InvoiceLine.lineage, Text).like(needle)).distinct()).all()
    return sorted(number or key for number, key in rows)


def show_mutation(settings: Settings, who: Actor, mutation_id: int) -> MutationView:
    """One mutation the user may see, with its provisioning at the vendor."""
    require(who, "desk")
    with UnitOfWork(engine_for(settings)) as uow:
        mutation = uow.mutations.get(mutation_id)
        code = _tenant_codes(uow).get(mutation.tenant_id) if mutation else None
        if mutation is None or code is None or not who.can_see(code):
            raise NotFound(f"mutation {mutation_id}: not found")
        return view(uow, mutation, code)


def list_mutations(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    subscription_id: int | None = None,
    status: str | None = None,
    month: str | None = None,
) -> list[MutationView]:
    """Mutations the user may see (their legal entities), optionally of one subscription, status or month."""
    require(who, "desk", tenant)
    with UnitOfWork(engine_for(settings)) as uow:
        codes = {tid: code for tid, code in _tenant_codes(uow).items()
                 if who.can_see(code) and (tenant is None or code == tenant)}
        first = last = None
        if month:
            first, last = month_range(month)
        rows = uow.mutations.search(list(codes), subscription_id=subscription_id, status=status,
                                    effective_from=first, effective_to=last)
        return [view(uow, row, codes[row.tenant_id]) for row in rows]


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the month ``YYYY-MM`` a desk list or reconciliation asks for."""
    try:
        return month_bounds(month)
    except ValueError:
        raise ValidationFailed(f"month {month!r}: expected YYYY-MM") from None


@dataclass(frozen=True)
class ReductionOutlook:
    """What the desk can still reduce: seats reducible now, until when, and the next date a reduction is possible."""

    reducible_now: Decimal
    reducible_until: dt.datetime | None
    next_allowed: dt.date | None


def reduction_outlook(history: Sequence[Snapshot], subscription: Subscription, now: dt.datetime) -> ReductionOutlook:
    current = history[-1].quantity if history else Decimal(0)
    if not subscription.term:
        return ReductionOutlook(current, None, now.date())
    batches = seat_batches(history)
    reducible = allowed_reduction(batches, now)
    if reducible > 0:
        return ReductionOutlook(reducible, min(b.reducible_until for b in batches if b.reducible_until > now),
                                now.date())
    renewal = terms_of(subscription, current).renewal_date if subscription.auto_renew is not False else None
    return ReductionOutlook(Decimal(0), None, renewal)
