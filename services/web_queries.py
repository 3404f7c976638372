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
        rows = uow.customers.search(list(tenants), query, limit=limit + 1, offset=offset)
        ids = [c.id for c in rows[:limit]]
        counts = dict(uow.session.execute(
            select(Subscription.customer_id, func.count(Subscription.id))
            .where(Subscription.customer_id.in_(ids)).group_by(Subscription.customer_id)
        ).tuples().all())
        return _page(rows, offset, limit, lambda c: CustomerRow(
            c.id, tenants[c.tenant_id], c.name, c.reference, counts.get(c.id, 0)))


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
    offset: int = 0,
    limit: int = 25,
) -> Page:
    """Discrepancies filtered by tenant, kind and status (latest day first)."""
    offset, limit = _bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "desk", tenant)
        rows = uow.discrepancies.search(list(tenants), kind=kind, status=status, limit=limit + 1, offset=offset)
        return _page(rows, offset, limit, lambda d: DiscrepancyRow(
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
        return _page(uow.session.scalars(stmt).all(), offset, limit, lambda j: JobRunView(
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


# --- batches and invoices (the review itself is services.batch_review's) -------------------------------------


@dataclass(frozen=True)
class ExportRow:
    id: int
    invoice_id: int
    target: str
    status: str
    attempts: int
    last_error: str | None
    erp_document_id: str | None
    next_attempt_at: dt.datetime | None
    updated_at: dt.datetime


def _export_row(e: Export) -> ExportRow:
    return ExportRow(e.id, e.invoice_id, e.target, e.status, e.attempts, e.last_error, e.erp_document_id,
                     e.next_attempt_at, e.updated_at)


def export_states(settings: Settings, who: Actor, invoice_ids: Sequence[int]) -> dict[int, ExportRow]:
    """The latest outbox row of each of these invoices (one page of a batch; ``export_status`` reads a whole batch)."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = _visible(uow.session, settings, who, "finance")
        latest: dict[int, ExportRow] = {}
        stmt = select(Export).where(Export.invoice_id.in_(invoice_ids), Export.tenant_id.in_(tenants))
        for row in uow.session.scalars(stmt.order_by(Export.id)):
            latest[row.invoice_id] = _export_row(row)
        return latest


@dataclass(frozen=True)
class InvoicePlace:
    """Where an invoice sits (its batch) and every outbox row of it, for the invoice page."""

    batch_id: int
    month: str
    exports: list[ExportRow]


def invoice_place(settings: Settings, who: Actor, invoice_id: int) -> InvoicePlace:
    with UnitOfWork(engine_for(settings)) as uow:
        session = uow.session
        tenants = _visible(session, settings, who, "finance")
        invoice = _owned(session.get(Invoice, invoice_id), tenants, "invoice", invoice_id)
        exports = session.scalars(select(Export).where(Export.invoice_id == invoice.id).order_by(Export.id))
        return InvoicePlace(invoice.batch_id, session.get(Batch, invoice.batch_id).month,
                            [_export_row(e) for e in exports])


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
