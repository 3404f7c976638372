"""The findings of a draft batch that finance weighs before approval, and their acknowledgements.

Why one module for all four kinds: the batch page, `cspbill batch findings`, the demo and approval must see the same
list. The findings are computed afresh from the ledger on every read, so they follow the data (a completed customer,
a confirmed provisioning, a rebuild with other amounts); only the acknowledgements are stored (``FindingAck``), keyed
by the finding's fingerprint, so changed facts need a new acknowledgement (the rule is ``rating.review``).

- missing master data: ``services.batches.readiness`` (a hard block, never acknowledged);
- negative margin: per subscription, what the batch and the issued invoices bill for a stretch starting in the month
  against the vendor's cost lines starting in it, in the same currency;
- mutations not provisioned: open ``mutation_not_provisioned`` discrepancies of the batch's customers, and
  provisionings to the vendor not confirmed by a snapshot;
- vendor counts that disagree with billed: per subscription, where this draft with the approved and exported lines
  bills other seats than the vendor shows in the month (``services.batches.vendor_counts``, the check reconciliation
  runs as ``billed_vs_vendor`` once the month is approved; before that it leaves the month's billed view to this).
Discrepancies are read through their stable columns only (kind, customer, subscription, status, day, sentence,
details), so a change in how reconciliation groups them keeps working here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import or_, select

from ledger.models import Batch, CostLine, Customer, FindingAck, Invoice, InvoiceLine, Mutation, Provisioning
from ledger.models import Subscription as SubscriptionRow
from rating.money import as_text
from rating.months import month_bounds
from rating.review import (
    MASTER_DATA,
    NEGATIVE_MARGIN,
    NOT_PROVISIONED,
    VENDOR_COUNTS,
    ReviewFinding,
    negative_margin,
    still_blocking,
)
from services.batches.readiness import batch_findings
from services.batches.vendor_counts import describe, draft_gaps
from services.errors import NotAllowed
from services.uow import UnitOfWork

SHOWN = 50
UNCONFIRMED = ("queued", "sending", "applied", "failed", "refused")


def draft_findings(uow: UnitOfWork, batch: Batch) -> list[ReviewFinding]:
    """Every finding of the batch: hard blocks first, then negative margins, the open discrepancies (unprovisioned
    mutations, vendor counts) and the provisionings not confirmed."""
    customers = dict(uow.session.execute(
        select(Customer.id, Customer.name).join(Invoice, Invoice.customer_id == Customer.id)
        .where(Invoice.batch_id == batch.id).distinct()).all())
    first, last = month_bounds(batch.month)
    found = [ReviewFinding(MASTER_DATA, f"{MASTER_DATA}:{f.customer_id}:{f.field}", f.customer_id, f.customer,
                           f"customer {f.customer_id} ({f.customer}) {f.field}", f.sentence)
             for f in batch_findings(uow, batch.id)]
    found += _negative_margins(uow, batch, customers, first, last)
    found += _discrepancies(uow, batch, customers, last)
    found += _vendor_counts(uow, batch, customers, first, last)
    found += _provisionings(uow, customers, last)
    return found


def acknowledged(uow: UnitOfWork, batch_id: int) -> dict[str, FindingAck]:
    """The batch's acknowledgements by fingerprint."""
    rows = uow.session.scalars(select(FindingAck).where(FindingAck.batch_id == batch_id).order_by(FindingAck.id))
    return {row.fingerprint: row for row in rows}


def refuse_if_blocking(uow: UnitOfWork, tenant_code: str, month: str, batch: Batch) -> None:
    """NotAllowed naming every hard block and every finding not acknowledged (the first ``SHOWN``, then a count)."""
    open_ones = still_blocking(draft_findings(uow, batch), acknowledged(uow, batch.id))
    if not open_ones:
        return
    listed = "; ".join(f.subject + ": " + f.sentence if f.hard else f"{f} (not acknowledged)"
                       for f in open_ones[:SHOWN])
    more = f"; and {len(open_ones) - SHOWN} more" if len(open_ones) > SHOWN else ""
    raise NotAllowed(f"batch {tenant_code} {month}: {len(open_ones)} blocking findings; complete the customers "
                     f"(`cspbill customer set`) and acknowledge the other findings with a reason (`cspbill batch "
                     f"acknowledge`) before approval: {listed}{more}")


def _negative_margins(uow: UnitOfWork, batch: Batch, customers: dict[int, str], first: dt.date,
                      last: dt.date) -> list[ReviewFinding]:
    issued = or_(Invoice.batch_id == batch.id, Invoice.status != "draft")
    billed: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    in_batch: set[int] = set()
    rows = uow.session.execute(
        select(InvoiceLine.subscription_id, InvoiceLine.currency, InvoiceLine.amount, Invoice.batch_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.tenant_id == batch.tenant_id, InvoiceLine.subscription_id.is_not(None),
               InvoiceLine.period_from >= first, InvoiceLine.period_from <= last, issued))
    for subscription_id, currency, amount, batch_id in rows:
        billed[(subscription_id, currency)] += amount
        if batch_id == batch.id:
            in_batch.add(subscription_id)
    costs: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in uow.session.execute(
            select(CostLine.subscription_id, CostLine.currency, CostLine.subtotal)
            .where(CostLine.subscription_id.in_(list(in_batch)), CostLine.charge_start >= first,
                   CostLine.charge_start <= last)):
        costs[(row.subscription_id, row.currency)] += row.subtotal
    subs = _subscriptions(uow, in_batch)
    found = []
    for (subscription_id, currency), cost in sorted(costs.items()):
        amount = billed.get((subscription_id, currency))
        if amount is None or not negative_margin(amount, cost):
            continue
        sub = subs[subscription_id]
        facts = f"{as_text(amount, currency)}:{as_text(cost, currency)}:{currency}"
        found.append(ReviewFinding(
            NEGATIVE_MARGIN, f"{NEGATIVE_MARGIN}:{subscription_id}:{batch.month}:{facts}",
            sub.customer_id, customers.get(sub.customer_id, ""),
            f"subscription {subscription_id} ({sub.product_name})",
            f"billed {as_text(amount, currency)} {currency}, vendor cost {as_text(cost, currency)} {currency} in "
            f"{batch.month}: margin {as_text(amount - cost, currency)} {currency}"))
    return found


def _discrepancies(uow: UnitOfWork, batch: Batch, customers: dict[int, str], last: dt.date) -> list[ReviewFinding]:
    found = []
    for d in uow.batches.open_discrepancies(batch.tenant_id):
        if d.customer_id not in customers or d.kind != NOT_PROVISIONED or (d.day is not None and d.day > last):
            continue
        facts = hashlib.sha256(json.dumps(d.details or {}, sort_keys=True, default=str).encode()).hexdigest()[:12]
        subject = f"subscription {d.subscription_id}" if d.subscription_id else f"customer {d.customer_id}"
        found.append(ReviewFinding(d.kind, f"{d.kind}:discrepancy:{d.id}:{d.subscription_id}:{d.day}:{facts}",
                                   d.customer_id, customers[d.customer_id], f"{subject} (discrepancy {d.id})",
                                   d.sentence))
    return found


def _vendor_counts(uow: UnitOfWork, batch: Batch, customers: dict[int, str], first: dt.date,
                   last: dt.date) -> list[ReviewFinding]:
    gaps = draft_gaps(uow, batch, first, last)
    subs = _subscriptions(uow, gaps)
    found = []
    for sub_id, sub_gaps in sorted(gaps.items()):
        sub = subs[sub_id]
        sentence = describe(sub_gaps)
        facts = hashlib.sha256(sentence.encode()).hexdigest()[:12]
        found.append(ReviewFinding(
            VENDOR_COUNTS, f"{VENDOR_COUNTS}:{sub_id}:{batch.month}:{facts}", sub.customer_id,
            customers.get(sub.customer_id) or _customer_name(uow, sub.customer_id),
            f"subscription {sub_id} ({sub.product_name})", sentence))
    return found


def _customer_name(uow: UnitOfWork, customer_id: int) -> str:
    return uow.session.scalar(select(Customer.name).where(Customer.id == customer_id)) or ""


def _provisionings(uow: UnitOfWork, customers: dict[int, str], last: dt.date) -> list[ReviewFinding]:
    rows = uow.session.execute(
        select(Provisioning, Mutation).join(Mutation, Mutation.id == Provisioning.mutation_id)
        .where(Mutation.customer_id.in_(list(customers)), Provisioning.status.in_(UNCONFIRMED),
               Mutation.status != "cancelled", Mutation.effective_date <= last)
        .order_by(Provisioning.id)).all()
    return [ReviewFinding(
        NOT_PROVISIONED, f"{NOT_PROVISIONED}:provisioning:{p.id}:{p.status}", m.customer_id,
        customers[m.customer_id], f"mutation {m.id} (ticket {m.ticket_ref}, subscription {m.subscription_id})",
        f"sent to {p.source} as {p.action}, not confirmed by the vendor: {p.status}"
        + (f" ({p.vendor_reason or p.last_error})" if p.vendor_reason or p.last_error else ""))
        for p, m in rows]


def _subscriptions(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, SubscriptionRow]:
    ids = list(ids)
    if not ids:
        return {}
    return {s.id: s for s in uow.session.scalars(select(SubscriptionRow).where(SubscriptionRow.id.in_(ids)))}
