"""Read-only lookups for the web desk, tenant-filtered through ``services.access``.

Why this module exists: the web desk needs pages before the owning services (sync/reconcile, batches, export) offer
query functions for them. Everything here only *reads* the ledger through one ``UnitOfWork`` per call, never decides
a business rule, and returns plain frozen dataclasses so templates never touch ORM objects. When a query lands in its
owning service, the web desk switches to it and the function here goes.

Every list is paginated in SQL (``limit``/``offset``, one extra row fetched to know whether there is a next page), so
pages stay fast with tens of thousands of invoices. A record of a tenant the actor cannot see answers ``NotFound``,
exactly like a record that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from config import Settings
from ledger.migrate import current_revisions, head_revisions
from ledger.models import (
    Batch,
    Customer,
    Discrepancy,
    Export,
    Invoice,
    InvoiceLine,
    JobRun,
    Mutation,
    Snapshot,
    Subscription,
    Tenant,
)
from services.access import Actor, require
from services.clock import Clock
from services.errors import NotFound
from services.jobs import JobRunView, JobSpec, job_specs, next_fire_times, recent_runs
from services.mutations import reduction_outlook
from services.runtime import engine_for
from services.uow import UnitOfWork

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and whether there are more after it."""

    items: list[T]
    offset: int
    limit: int
    has_more: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset else None


def _page(rows: Sequence[Any], offset: int, limit: int, convert: Any) -> Page[Any]:
    return Page([convert(row) for row in rows[:limit]], offset, limit, len(rows) > limit)


def _bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(offset, 0), min(max(limit, 1), MAX_LIMIT)


def _visible(session: Session, settings: Settings, who: Actor, role: str, tenant: str | None = None) -> dict[int, str]:
    """Tenant ids -> codes the actor may read with ``role`` (only ``tenant`` when given; NotFound if not visible)."""
    require(who, role, tenant)
    codes = [tenant] if tenant else who.visible_tenants(settings)
    rows = session.execute(select(Tenant.id, Tenant.code).where(Tenant.code.in_(codes))).all()
    return {row.id: row.code for row in rows}


def _owned(record: Any, tenants: dict[int, str], what: str, record_id: int) -> Any:
    if record is None or record.tenant_id not in tenants:
        raise NotFound(f"{what} {record_id}: not found")
    return record


# --- customers and subscriptions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRow:
    id: int
    tenant: str
    name: str
    reference: str | None
    subscriptions: int


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    tenant: str
    customer_id: int
    customer: str
    source: str
    external_id: str
    product_name: str
    sku: str | None
    term: str | None
    billing: str
    status: str
    quantity: Decimal | None


def search_customers(settings: Settings, who: Actor, query: str = "", offset: int = 0, limit: int = 25) -> Page:
    """Customers of the actor's legal entities whose name or ERP reference contains ``query``."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        counts = (
            select(func.count(Subscription.id))
            .where(Subscription.customer_id == Customer.id)
            .correlate(Customer)
            .scalar_subquery()
        )
        stmt = select(Customer, counts.label("subscriptions")).where(Customer.tenant_id.in_(tenants))
        if query:
            like = f"%{query}%"
            stmt = stmt.where(or_(Customer.name.ilike(like), Customer.reference.ilike(like)))
        rows = uow.session.execute(stmt.order_by(Customer.name, Customer.id).offset(offset).limit(limit + 1)).all()
        return _page(rows, offset, limit, lambda r: CustomerRow(
            r.Customer.id, tenants[r.Customer.tenant_id], r.Customer.name, r.Customer.reference, r.subscriptions))


def _latest_quantity():
    return (
        select(Snapshot.quantity)
        .where(Snapshot.subscription_id == Subscription.id)
        .order_by(Snapshot.observed_at.desc(), Snapshot.id.desc())
        .limit(1)
        .correlate(Subscription)
        .scalar_subquery()
    )


def search_subscriptions(
    settings: Settings, who: Actor, query: str = "", customer_id: int | None = None, offset: int = 0, limit: int = 25
) -> Page:
    """Subscriptions matching product, SKU, vendor id or customer name, with the quantity last seen at the vendor."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        stmt = (
            select(Subscription, Customer.name.label("customer"), _latest_quantity().label("quantity"))
            .join(Customer, Customer.id == Subscription.customer_id)
            .where(Subscription.tenant_id.in_(tenants))
        )
        if customer_id is not None:
            stmt = stmt.where(Subscription.customer_id == customer_id)
        if query:
            like = f"%{query}%"
            stmt = stmt.where(or_(
                Subscription.product_name.ilike(like), Subscription.sku.ilike(like),
                Subscription.external_id.ilike(like), Subscription.vendor_subscription_id.ilike(like),
                Customer.name.ilike(like),
            ))
        stmt = stmt.order_by(Customer.name, Subscription.product_name, Subscription.id).offset(offset).limit(limit + 1)
        return _page(uow.session.execute(stmt).all(), offset, limit, lambda r: _subscription_row(r, tenants))


def _subscription_row(row: Any, tenants: dict[int, str]) -> SubscriptionRow:
    sub: Subscription = row.Subscription
    return SubscriptionRow(
        sub.id, tenants[sub.tenant_id], sub.customer_id, row.customer, sub.source, sub.external_id, sub.product_name,
        sub.sku, sub.term, sub.billing, sub.status, row.quantity,
    )


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a subscription's quantity history: a vendor state (collapsed while unchanged) or a desk request."""

    day: dt.date
    source: str  # "vendor" or "desk"
    quantity: Decimal | None
    status: str
    detail: str
    last_seen: dt.date | None = None
    seen: int = 1


@dataclass(frozen=True)
class SubscriptionView:
    row: SubscriptionRow
    start_date: dt.date | None
    term_end: dt.date | None
    end_date: dt.date | None
    auto_renew: bool | None
    currency: str
    timeline: list[TimelineEntry]
    mutations: int
    reducible_now: Decimal
    reducible_until: dt.datetime | None
    next_allowed_reduction: dt.date | None


def subscription_view(settings: Settings, who: Actor, subscription_id: int, now: dt.datetime) -> SubscriptionView:
    """A subscription with its snapshots (runs of an unchanged state collapsed) and mutations on one timeline, and
    what can still be reduced ``now`` (the mutations service's NCE outlook)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        row = uow.session.execute(
            select(Subscription, Customer.name.label("customer"), _latest_quantity().label("quantity"))
            .join(Customer, Customer.id == Subscription.customer_id)
            .where(Subscription.id == subscription_id)
        ).first()
        _owned(row.Subscription if row else None, tenants, "subscription", subscription_id)
        sub: Subscription = row.Subscription
        history = uow.snapshots.history(sub.id)
        outlook = reduction_outlook(history, sub, now)
        entries = _vendor_runs(history)
        mutations = uow.session.scalars(
            select(Mutation).where(Mutation.subscription_id == sub.id).order_by(Mutation.effective_date, Mutation.id)
        ).all()
        entries += [_mutation_entry(m) for m in mutations]
        entries.sort(key=lambda e: (e.day, e.source != "vendor"))
        return SubscriptionView(
            _subscription_row(row, tenants), sub.start_date, sub.term_end, sub.end_date, sub.auto_renew, sub.currency,
            entries, len(mutations), outlook.reducible_now, outlook.reducible_until, outlook.next_allowed,
        )


def _vendor_runs(snapshots: Iterable[Snapshot]) -> list[TimelineEntry]:
    runs: list[TimelineEntry] = []
    for snap in snapshots:
        last = runs[-1] if runs else None
        if last is not None and (last.quantity, last.status) == (snap.quantity, snap.status):
            runs[-1] = TimelineEntry(last.day, "vendor", last.quantity, last.status, last.detail, snap.observed_on,
                                     last.seen + 1)
        else:
            runs.append(TimelineEntry(snap.observed_on, "vendor", snap.quantity, snap.status,
                                      f"vendor shows {snap.quantity} ({snap.status})", snap.observed_on))
    return runs


def _mutation_entry(mutation: Mutation) -> TimelineEntry:
    what = mutation.kind
    if mutation.new_quantity is not None:
        what += f" to {mutation.new_quantity}"
    elif mutation.delta is not None:
        what += f" by {mutation.delta}"
    if mutation.target_product:
        what += f" → {mutation.target_product}"
    detail = f"{what}, ticket {mutation.ticket_ref} by {mutation.created_by}"
    if mutation.scheduled_for:
        detail += f", scheduled for {mutation.scheduled_for.isoformat()}"
    return TimelineEntry(mutation.effective_date, "desk", mutation.new_quantity, mutation.status, detail)


# --- discrepancies ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscrepancyRow:
    id: int
    tenant: str
    kind: str
    day: dt.date | None
    sentence: str
    status: str
    subscription_id: int | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_by: str | None
    resolution_note: str | None


def discrepancy_kinds(settings: Settings, who: Actor) -> list[str]:
    """The kinds present for the actor's tenants, for the filter's choices."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        stmt = select(Discrepancy.kind).where(Discrepancy.tenant_id.in_(tenants)).distinct().order_by(Discrepancy.kind)
        return list(uow.session.scalars(stmt))


def list_discrepancies(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    subscription_ids: Sequence[int] | None = None,
    offset: int = 0,
    limit: int = 25,
) -> Page:
    """Discrepancies filtered by tenant, kind and status (newest first)."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk", tenant)
        stmt = select(Discrepancy).where(Discrepancy.tenant_id.in_(tenants))
        if kind:
            stmt = stmt.where(Discrepancy.kind == kind)
        if status:
            stmt = stmt.where(Discrepancy.status == status)
        if subscription_ids is not None:
            stmt = stmt.where(Discrepancy.subscription_id.in_(subscription_ids))
        stmt = stmt.order_by(Discrepancy.last_seen_at.desc(), Discrepancy.id.desc()).offset(offset).limit(limit + 1)
        return _page(uow.session.scalars(stmt).all(), offset, limit, lambda d: DiscrepancyRow(
            d.id, tenants[d.tenant_id], d.kind, d.day, d.sentence, d.status, d.subscription_id, d.first_seen_at,
            d.last_seen_at, d.resolved_by, d.resolution_note))


# --- operations ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRunRow:
    id: int
    source: str
    tenant: str | None
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    counts: dict[str, Any]
    errors: list[Any]
    error: str | None


def last_sync_runs(settings: Settings, who: Actor, per_source: int = 5) -> dict[str, list[SyncRunRow]]:
    """The last runs of every configured source of the actor's legal entities (newest first)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        visible_codes = set(tenants.values())
        result: dict[str, list[SyncRunRow]] = {}
        for source in settings.sources:
            if source.tenant not in visible_codes:
                continue
            runs = uow.sync_runs.recent(limit=per_source, source=source.name)
            result[source.name] = [
                SyncRunRow(r.id, r.source, source.tenant, r.as_of, r.started_at, r.finished_at, r.status,
                           dict(r.counts or {}), list(r.errors or []), r.error)
                for r in runs
            ]
        return result


@dataclass(frozen=True)
class JobRunRow:
    id: int
    job_id: str
    scheduled_for: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    counts: dict[str, Any]
    error: str | None
    runner: str | None


def _hidden_jobs(settings: Settings, who: Actor) -> list[str]:
    """Job ids that name another legal entity's source or build (``sync:<source>``, ``build:<tenant>``)."""
    hidden = [f"sync:{s.name}" for s in settings.sources if not who.can_see(s.tenant)]
    return hidden + [f"build:{t.code}" for t in settings.tenants if not who.can_see(t.code)]


def job_runs(settings: Settings, who: Actor, offset: int = 0, limit: int = 25) -> Page:
    """Scheduled job runs, newest first, for finance and admins; runs of other entities' jobs are left out."""
    offset, limit = _bounds(offset, limit)
    require(who, "finance")
    with UnitOfWork(engine_for(settings)) as uow:
        stmt = select(JobRun).where(JobRun.job_id.not_in(_hidden_jobs(settings, who)))
        stmt = stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc()).offset(offset).limit(limit + 1)
        return _page(uow.session.scalars(stmt).all(), offset, limit, lambda j: JobRunRow(
            j.id, j.job_id, j.scheduled_for, j.started_at, j.finished_at, j.outcome, dict(j.counts or {}), j.error,
            j.runner))


@dataclass(frozen=True)
class ScheduledJob:
    spec: JobSpec
    next_fire: dt.datetime | None
    last: JobRunView | None


def scheduled_jobs(settings: Settings, who: Actor, clock: Clock) -> list[ScheduledJob]:
    """The configured jobs the actor may see, when each fires next and how its last run ended (services.jobs)."""
    require(who, "finance")
    hidden = set(_hidden_jobs(settings, who))
    fires = next_fire_times(settings, clock)
    return [
        ScheduledJob(spec, fires.get(spec.id), next(iter(recent_runs(settings, 1, spec.id)), None))
        for spec in job_specs(settings)
        if spec.id not in hidden
    ]


@dataclass(frozen=True)
class Health:
    database: bool
    at_head: bool
    revisions: list[str]
    heads: list[str]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.database and self.at_head


def health(settings: Settings) -> Health:
    """Is the ledger reachable and migrated to every head? (for monitoring; no login, no data)."""
    heads = head_revisions()
    engine = engine_for(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revisions = current_revisions(engine)
    except Exception as exc:  # any driver error means "not reachable"; the type is reported, never the URL
        return Health(False, False, [], heads, type(exc).__name__)
    return Health(True, revisions == heads, revisions, heads)


# --- batches and invoices -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    id: int
    tenant: str
    month: str
    status: str
    built_by: str
    built_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    rejected_by: str | None
    rejection_reason: str | None
    invoices: int


def list_batches(
    settings: Settings, who: Actor, tenant: str | None = None, month: str | None = None, offset: int = 0,
    limit: int = 25,
) -> Page:
    """Batches of the actor's legal entities, newest month first."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "finance", tenant)
        stmt = select(Batch).where(Batch.tenant_id.in_(tenants))
        if month:
            stmt = stmt.where(Batch.month == month)
        stmt = stmt.order_by(Batch.month.desc(), Batch.tenant_id, Batch.id.desc()).offset(offset).limit(limit + 1)
        batches = uow.session.scalars(stmt).all()
        counts = _invoice_counts(uow.session, [b.id for b in batches[:limit]])
        return _page(batches, offset, limit, lambda b: _batch_row(b, tenants, counts.get(b.id, 0)))


def _invoice_counts(session: Session, batch_ids: list[int]) -> dict[int, int]:
    if not batch_ids:
        return {}
    rows = session.execute(
        select(Invoice.batch_id, func.count(Invoice.id))
        .where(Invoice.batch_id.in_(batch_ids))
        .group_by(Invoice.batch_id)
    ).all()
    return {batch_id: count for batch_id, count in rows}


def _batch_row(batch: Batch, tenants: dict[int, str], invoices: int) -> BatchRow:
    return BatchRow(batch.id, tenants[batch.tenant_id], batch.month, batch.status, batch.built_by, batch.built_at,
                    batch.approved_by, batch.approved_at, batch.rejected_by, batch.rejection_reason, invoices)


@dataclass(frozen=True)
class RateTotal:
    currency: str
    vat_rate: Decimal
    net: Decimal
    lines: int


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    invoices: int


@dataclass(frozen=True)
class MonthTotal:
    month: str
    currency: str
    net: Decimal
    batch_id: int


@dataclass(frozen=True)
class CustomerDiff:
    customer_id: int
    customer: str
    currency: str
    previous: Decimal
    current: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def label(self) -> str:
        if not self.previous:
            return "new"
        if not self.current:
            return "gone"
        return "changed" if self.change else "same"


@dataclass(frozen=True)
class BatchView:
    batch: BatchRow
    by_currency: list[CurrencyTotal]
    by_rate: list[RateTotal]
    months: list[MonthTotal]
    previous_month: str | None
    diff: list[CustomerDiff]
    diff_more: int
    subscription_ids: list[int]


def batch_view(settings: Settings, who: Actor, batch_id: int, months: int = 6, diff_rows: int = 50) -> BatchView:
    """A batch's totals per currency and VAT rate, net per month for the chart, and the diff per customer."""
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = _visible(session, settings, who, "finance")
        batch = _owned(session.get(Batch, batch_id), tenants, "batch", batch_id)
        row = _batch_row(batch, tenants, _invoice_counts(session, [batch.id]).get(batch.id, 0))
        history = session.scalars(
            select(Batch).where(Batch.tenant_id == batch.tenant_id, Batch.month <= batch.month)
            .order_by(Batch.month.desc()).limit(months)
        ).all()
        previous = history[1] if len(history) > 1 else None
        per_customer = _net_per_customer(session, [b.id for b in history[:2]])
        return BatchView(
            row,
            _currency_totals(session, batch.id),
            _rate_totals(session, batch.id),
            _month_totals(session, list(reversed(history))),
            previous.month if previous else None,
            *_diff(session, per_customer, batch.id, previous.id if previous else None, diff_rows),
            _subscription_ids(session, batch.id),
        )


def _currency_totals(session: Session, batch_id: int) -> list[CurrencyTotal]:
    sums: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0), 0])
    rows = session.execute(
        select(Invoice.currency, Invoice.net, Invoice.vat, Invoice.gross).where(Invoice.batch_id == batch_id)
    )
    for currency, net, vat, gross in rows:
        total = sums[currency]
        total[0] += net
        total[1] += vat
        total[2] += gross
        total[3] += 1
    return [CurrencyTotal(c, *values) for c, values in sorted(sums.items())]


def _rate_totals(session: Session, batch_id: int) -> list[RateTotal]:
    sums: dict[tuple[str, Decimal], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    rows = session.execute(
        select(InvoiceLine.currency, InvoiceLine.vat_rate, InvoiceLine.amount)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.batch_id == batch_id)
    )
    for currency, rate, amount in rows:
        total = sums[(currency, rate)]
        total[0] += amount
        total[1] += 1
    return [RateTotal(c, r, *values) for (c, r), values in sorted(sums.items())]


def _month_totals(session: Session, batches: list[Batch]) -> list[MonthTotal]:
    months = {b.id: b.month for b in batches}
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    rows = session.execute(select(Invoice.batch_id, Invoice.currency, Invoice.net).where(Invoice.batch_id.in_(months)))
    for batch_id, currency, net in rows:
        sums[(batch_id, currency)] += net
    return [MonthTotal(months[b], c, net, b) for (b, c), net in sorted(sums.items(), key=lambda i: months[i[0][0]])]


def _net_per_customer(session: Session, batch_ids: list[int]) -> dict[int, dict[tuple[int, str], Decimal]]:
    sums: dict[int, dict[tuple[int, str], Decimal]] = {b: defaultdict(Decimal) for b in batch_ids}
    rows = session.execute(
        select(Invoice.batch_id, Invoice.customer_id, Invoice.currency, Invoice.net)
        .where(Invoice.batch_id.in_(batch_ids))
    )
    for batch_id, customer_id, currency, net in rows:
        sums[batch_id][(customer_id, currency)] += net
    return sums


def _diff(
    session: Session, per_customer: dict[int, dict[tuple[int, str], Decimal]], current: int, previous: int | None,
    rows: int,
) -> tuple[list[CustomerDiff], int]:
    now = per_customer.get(current, {})
    before = per_customer.get(previous, {}) if previous else {}
    keys = set(now) | set(before)
    names = dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_({k[0] for k in keys}))).all())
    zero = Decimal(0)
    diffs = [
        CustomerDiff(cid, names.get(cid, str(cid)), cur, before.get((cid, cur), zero), now.get((cid, cur), zero))
        for cid, cur in keys
    ]
    diffs.sort(key=lambda d: (-abs(d.change), d.customer))
    return diffs[:rows], max(len(diffs) - rows, 0)


def _subscription_ids(session: Session, batch_id: int) -> list[int]:
    stmt = (
        select(InvoiceLine.subscription_id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.batch_id == batch_id, InvoiceLine.subscription_id.is_not(None)).distinct()
    )
    return sorted(session.scalars(stmt))


@dataclass(frozen=True)
class ExportRow:
    id: int
    target: str
    status: str
    attempts: int
    last_error: str | None
    erp_document_id: str | None
    next_attempt_at: dt.datetime | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    batch_id: int
    tenant: str
    customer_id: int
    customer: str
    invoice_key: str
    number: str | None
    issue_date: dt.date | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    status: str
    export: ExportRow | None


def batch_invoices(settings: Settings, who: Actor, batch_id: int, offset: int = 0, limit: int = 50) -> Page:
    """One page of a batch's invoices with each one's latest export state."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = _visible(session, settings, who, "finance")
        _owned(session.get(Batch, batch_id), tenants, "batch", batch_id)
        rows = session.execute(
            select(Invoice, Customer.name.label("customer")).join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.batch_id == batch_id).order_by(Invoice.id).offset(offset).limit(limit + 1)
        ).all()
        exports = _latest_exports(session, [r.Invoice.id for r in rows[:limit]])
        return _page(rows, offset, limit, lambda r: _invoice_row(r.Invoice, r.customer, tenants, exports))


def _latest_exports(session: Session, invoice_ids: list[int]) -> dict[int, ExportRow]:
    latest: dict[int, ExportRow] = {}
    if not invoice_ids:
        return latest
    for e in session.scalars(select(Export).where(Export.invoice_id.in_(invoice_ids)).order_by(Export.id)):
        latest[e.invoice_id] = _export_row(e)
    return latest


def _export_row(e: Export) -> ExportRow:
    return ExportRow(e.id, e.target, e.status, e.attempts, e.last_error, e.erp_document_id, e.next_attempt_at,
                     e.updated_at)


def _invoice_row(invoice: Invoice, customer: str, tenants: dict[int, str], exports: dict[int, ExportRow]) -> InvoiceRow:
    return InvoiceRow(
        invoice.id, invoice.batch_id, tenants[invoice.tenant_id], invoice.customer_id, customer, invoice.invoice_key,
        invoice.number, invoice.issue_date, invoice.currency, invoice.net, invoice.vat, invoice.gross, invoice.status,
        exports.get(invoice.id),
    )


@dataclass(frozen=True)
class LineRow:
    id: int
    invoice_id: int
    line_key: str
    version: int
    kind: str
    description: str
    period_from: dt.date | None
    period_to: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    unrounded: Decimal
    currency: str
    vat_rate: Decimal
    subscription_id: int | None
    corrects_line_key: str | None
    reason_code: str | None
    lineage: dict[str, Any]


@dataclass(frozen=True)
class InvoiceView:
    invoice: InvoiceRow
    month: str
    vat_breakdown: list[Any]
    lines: list[LineRow]
    exports: list[ExportRow]


def invoice_view(settings: Settings, who: Actor, invoice_id: int) -> InvoiceView:
    """An invoice with its lines and every export attempt row."""
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = _visible(session, settings, who, "finance")
        invoice = _owned(session.get(Invoice, invoice_id), tenants, "invoice", invoice_id)
        customer = session.get(Customer, invoice.customer_id)
        exports = [_export_row(e) for e in session.scalars(
            select(Export).where(Export.invoice_id == invoice.id).order_by(Export.id))]
        row = _invoice_row(invoice, customer.name, tenants, {invoice.id: exports[-1]} if exports else {})
        return InvoiceView(row, session.get(Batch, invoice.batch_id).month, list(invoice.vat_breakdown or []),
                           [_line_row(line) for line in invoice.lines], exports)


def _line_row(line: InvoiceLine) -> LineRow:
    return LineRow(
        line.id, line.invoice_id, line.line_key, line.version, line.kind, line.description, line.period_from,
        line.period_to, line.quantity, line.unit_price, line.amount, line.unrounded, line.currency, line.vat_rate,
        line.subscription_id, line.corrects_line_key, line.reason_code, dict(line.lineage or {}),
    )


@dataclass(frozen=True)
class LineView:
    line: LineRow
    invoice: InvoiceRow
    tenant: str


def line_view(settings: Settings, who: Actor, line_id: int) -> LineView:
    """One line with its stored lineage (inputs, formula, unrounded amount, rounding): nothing is re-computed."""
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = _visible(session, settings, who, "finance")
        line = _owned(session.get(InvoiceLine, line_id), tenants, "invoice line", line_id)
        invoice = line.invoice
        customer = session.get(Customer, invoice.customer_id)
        return LineView(_line_row(line), _invoice_row(invoice, customer.name, tenants, {}), tenants[line.tenant_id])


def export_tenant(settings: Settings, who: Actor, export_id: int) -> tuple[str, int]:
    """The tenant code and invoice id of an export row the actor may see (for the retry button's redirect)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "finance")
        export = _owned(uow.session.get(Export, export_id), tenants, "export", export_id)
        return tenants[export.tenant_id], export.invoice_id


def batch_tenant(settings: Settings, who: Actor, batch_id: int) -> tuple[str, str]:
    """The tenant code and month of a batch the actor may see (the approve/reject services take tenant and month)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "finance")
        batch = _owned(uow.session.get(Batch, batch_id), tenants, "batch", batch_id)
        return tenants[batch.tenant_id], batch.month


def subscription_tenant(settings: Settings, who: Actor, subscription_id: int) -> str:
    """The tenant code of a subscription the actor may see."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk")
        return tenants[_owned(uow.session.get(Subscription, subscription_id), tenants, "subscription",
                              subscription_id).tenant_id]
