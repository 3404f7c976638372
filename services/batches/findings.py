"""The findings of a draft batch that finance weighs before approval, and their acknowledgements.

Why one module for all four kinds: the batch page, `cspbill batch findings`, the demo and approval must see the same
list. The findings are computed afresh from the ledger on every read, so they follow the data (a completed customer,
a confirmed provisioning, a rebuild with other amounts); only the acknowledgements are stored (``FindingAck``), keyed
by the finding's fingerprint, so changed facts need a new acknowledgement (the rule is ``rating.review``). The one
costly walk, the vendor counts, is the build's while the ledger still agrees with it (``services.batches.prepared``);
approval walks it afresh.

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
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select

from ledger.models import (
    Batch,
    CostLine,
    Customer,
    Discrepancy,
    FindingAck,
    Invoice,
    InvoiceLine,
    Mutation,
    Provisioning,
)
from ledger.models import Subscription as SubscriptionRow
from ledger.repositories.sums import amount, decimals, units
from rating.money import as_text
from rating.months import month_bounds
from rating.readiness import Finding
from rating.review import (
    MASTER_DATA,
    NEGATIVE_MARGIN,
    NOT_PROVISIONED,
    VENDOR_COUNTS,
    ReviewFinding,
    negative_margin,
    still_blocking,
)
from services.batches.prepared import vendor_gaps
from services.batches.readiness import batch_findings
from services.batches.vendor_counts import describe, draft_gaps
from services.errors import NotAllowed
from services.uow import UnitOfWork

SHOWN = 50
UNCONFIRMED = ("queued", "sending", "applied", "failed", "refused")


def draft_findings(uow: UnitOfWork, batch: Batch, master: Sequence[Finding] | None = None,
                   live: bool = False) -> list[ReviewFinding]:
    """Every finding of the batch: hard blocks first, then negative margins, the open discrepancies of mutations not
    provisioned, the vendor counts the draft disagrees with and the provisionings not confirmed. The batch's
    customers stay a subquery, so a batch of hundreds of thousands of invoices is never loaded to find a few.
    ``master``: the batch's ``batch_findings`` when the caller has them already (the batch page shows both).
    The vendor counts are those the build stored while the ledger still agrees with them (``services.batches
    .prepared``); ``live`` walks them afresh in any case (approval)."""
    customers = select(Invoice.customer_id).where(Invoice.batch_id == batch.id)
    first, last = month_bounds(batch.month)
    found = [ReviewFinding(MASTER_DATA, f"{MASTER_DATA}:{f.customer_id}:{f.field}", f.customer_id, f.customer,
                           f"customer {f.customer_id} ({f.customer}) {f.field}", f.sentence)
             for f in (batch_findings(uow, batch.id) if master is None else master)]
    found += _negative_margins(uow, batch, first, last)
    found += _discrepancies(uow, batch, customers, last)
    found += _vendor_counts(uow, batch, first, last, live)
    found += _provisionings(uow, customers, last)
    return found


def acknowledged(uow: UnitOfWork, batch_id: int) -> dict[str, FindingAck]:
    """The batch's acknowledgements by fingerprint."""
    rows = uow.session.scalars(select(FindingAck).where(FindingAck.batch_id == batch_id).order_by(FindingAck.id))
    return {row.fingerprint: row for row in rows}


def refuse_if_blocking(uow: UnitOfWork, tenant_code: str, month: str, batch: Batch) -> None:
    """NotAllowed naming every hard block and every finding not acknowledged (the first ``SHOWN``, then a count)."""
    open_ones = still_blocking(draft_findings(uow, batch, live=True), acknowledged(uow, batch.id))
    if not open_ones:
        return
    listed = "; ".join(f.subject + ": " + f.sentence if f.hard else f"{f} (not acknowledged)"
                       for f in open_ones[:SHOWN])
    more = f"; and {len(open_ones) - SHOWN} more" if len(open_ones) > SHOWN else ""
    raise NotAllowed(f"batch {tenant_code} {month}: {len(open_ones)} blocking findings; complete the customers "
                     f"(`cspbill customer set`) and acknowledge the other findings with a reason (`cspbill batch "
                     f"acknowledge`) before approval: {listed}{more}")


def _negative_margins(uow: UnitOfWork, batch: Batch, first: dt.date, last: dt.date) -> list[ReviewFinding]:
    """Subscriptions the batch bills for a stretch starting in the month that have vendor cost lines starting in it:
    their cost summed in ``Decimal`` (vendor costs keep all their decimals), what they are billed summed in SQL.
    Driven by the tenant's cost lines of the month (indexed), each checked against the batch's lines of its
    subscription, so a batch of hundreds of thousands of lines is not walked to find them."""
    starts_in_month = (InvoiceLine.period_from >= first, InvoiceLine.period_from <= last)
    billed_in_batch = (select(InvoiceLine.id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                       .where(InvoiceLine.subscription_id == CostLine.subscription_id, Invoice.batch_id == batch.id,
                              *starts_in_month).exists())
    month_costs = (CostLine.tenant_id == batch.tenant_id, CostLine.charge_start >= first,
                   CostLine.charge_start <= last, CostLine.subscription_id.is_not(None), billed_in_batch)
    costs: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for row in uow.session.execute(
            select(CostLine.subscription_id, CostLine.currency, CostLine.subtotal).where(*month_costs)):
        costs[(row.subscription_id, row.currency)] += row.subtotal
    if not costs:
        return []
    with_cost = select(CostLine.subscription_id).where(*month_costs)
    value = units(uow.session, InvoiceLine.amount)
    billed = {(subscription_id, currency): amount(total, places, f"invoice lines of subscription {subscription_id}")
              for subscription_id, currency, total, places in uow.session.execute(
                  select(InvoiceLine.subscription_id, InvoiceLine.currency, func.sum(value),
                         func.max(decimals(uow.session, InvoiceLine.amount)))
                  .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                  .where(InvoiceLine.tenant_id == batch.tenant_id, InvoiceLine.subscription_id.in_(with_cost),
                         or_(Invoice.batch_id == batch.id, Invoice.status != "draft"), *starts_in_month)
                  .group_by(InvoiceLine.subscription_id, InvoiceLine.currency))}
    subs = {row.id: row for row in uow.session.execute(
        select(SubscriptionRow.id, SubscriptionRow.customer_id, SubscriptionRow.product_name,
               Customer.name.label("customer"))
        .join(Customer, Customer.id == SubscriptionRow.customer_id).where(SubscriptionRow.id.in_(with_cost)))}
    found = []
    for (subscription_id, currency), cost in sorted(costs.items()):
        amount_billed = billed.get((subscription_id, currency))
        if amount_billed is None or not negative_margin(amount_billed, cost):
            continue
        sub = subs[subscription_id]
        facts = f"{as_text(amount_billed, currency)}:{as_text(cost, currency)}:{currency}"
        found.append(ReviewFinding(
            NEGATIVE_MARGIN, f"{NEGATIVE_MARGIN}:{subscription_id}:{batch.month}:{facts}",
            sub.customer_id, sub.customer, f"subscription {subscription_id} ({sub.product_name})",
            f"billed {as_text(amount_billed, currency)} {currency}, vendor cost {as_text(cost, currency)} {currency} "
            f"in {batch.month}: margin {as_text(amount_billed - cost, currency)} {currency}"))
    return found


def _discrepancies(uow: UnitOfWork, batch: Batch, customers: Select[Any], last: dt.date) -> list[ReviewFinding]:
    found = []
    for d, customer in uow.session.execute(
            select(Discrepancy, Customer.name).join(Customer, Customer.id == Discrepancy.customer_id)
            .where(Discrepancy.tenant_id == batch.tenant_id, Discrepancy.status == "open",
                   Discrepancy.kind == NOT_PROVISIONED, Discrepancy.customer_id.in_(customers))
            .order_by(Discrepancy.subscription_id, Discrepancy.day, Discrepancy.id)):
        if d.day is not None and d.day > last:
            continue
        facts = hashlib.sha256(json.dumps(d.details or {}, sort_keys=True, default=str).encode()).hexdigest()[:12]
        subject = f"subscription {d.subscription_id}" if d.subscription_id else f"customer {d.customer_id}"
        found.append(ReviewFinding(d.kind, f"{d.kind}:discrepancy:{d.id}:{d.subscription_id}:{d.day}:{facts}",
                                   d.customer_id, customer, f"{subject} (discrepancy {d.id})", d.sentence))
    return found


def _vendor_counts(uow: UnitOfWork, batch: Batch, first: dt.date, last: dt.date,
                   live: bool) -> list[ReviewFinding]:
    gaps = draft_gaps(uow, batch, first, last) if live else vendor_gaps(uow, batch, first, last)
    subs = {row.id: row for row in uow.session.execute(
        select(SubscriptionRow.id, SubscriptionRow.customer_id, SubscriptionRow.product_name,
               Customer.name.label("customer"))
        .join(Customer, Customer.id == SubscriptionRow.customer_id).where(SubscriptionRow.id.in_(list(gaps))))}
    found = []
    for sub_id, sub_gaps in sorted(gaps.items()):
        sub = subs[sub_id]
        sentence = describe(sub_gaps)
        facts = hashlib.sha256(sentence.encode()).hexdigest()[:12]
        found.append(ReviewFinding(
            VENDOR_COUNTS, f"{VENDOR_COUNTS}:{sub_id}:{batch.month}:{facts}", sub.customer_id, sub.customer,
            f"subscription {sub_id} ({sub.product_name})", sentence))
    return found


def _provisionings(uow: UnitOfWork, customers: Select[Any], last: dt.date) -> list[ReviewFinding]:
    rows = uow.session.execute(
        select(Provisioning, Mutation, Customer.name).join(Mutation, Mutation.id == Provisioning.mutation_id)
        .join(Customer, Customer.id == Mutation.customer_id)
        .where(Mutation.customer_id.in_(customers), Provisioning.status.in_(UNCONFIRMED),
               Mutation.status != "cancelled", Mutation.effective_date <= last)
        .order_by(Provisioning.id)).all()
    return [ReviewFinding(
        NOT_PROVISIONED, f"{NOT_PROVISIONED}:provisioning:{p.id}:{p.status}", m.customer_id,
        customer, f"mutation {m.id} (ticket {m.ticket_ref}, subscription {m.subscription_id})",
        f"sent to {p.source} as {p.action}, not confirmed by the vendor: {p.status}"
        + (f" ({p.vendor_reason or p.last_error})" if p.vendor_reason or p.last_error else ""))
        for p, m, customer in rows]
