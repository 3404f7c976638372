"""Batches and the ledger reads a batch build needs, loaded per tenant in a few set-based queries.

Why bulk reads here: a month-end build touches every subscription of a legal entity (hundreds of thousands in the
benchmark); one query per table keeps it linear instead of one round trip per subscription.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from ledger.models import (
    Batch,
    CostLine,
    Customer,
    CustomerExternalId,
    Mutation,
    Snapshot,
    Subscription,
    UsageRow,
)
from ledger.repositories.base import Repository
from ledger.shards import WHOLE, Shard


class BatchRepository(Repository):
    def get(self, batch_id: int) -> Batch | None:
        return self.session.get(Batch, batch_id)

    def for_month(self, tenant_id: int, month: str, lock: bool = False) -> Batch | None:
        """The tenant's batch of ``month``; ``lock`` takes a row lock (PostgreSQL) until the transaction ends."""
        query = select(Batch).where(Batch.tenant_id == tenant_id, Batch.month == month)
        if lock:
            query = query.with_for_update()
        return self.session.scalar(query)

    def add(self, tenant_id: int, month: str, built_by: str, built_at: dt.datetime) -> Batch:
        batch = Batch(tenant_id=tenant_id, month=month, status="draft", built_by=built_by, built_at=built_at,
                      totals={}, revision=1)
        self.session.add(batch)
        self.session.flush()
        return batch

    def statuses(self, tenant_id: int) -> dict[str, str]:
        """``{month: status}`` of every batch of the tenant."""
        rows = self.session.execute(select(Batch.month, Batch.status).where(Batch.tenant_id == tenant_id))
        return dict(rows.tuples().all())

    def editions(self, tenant_id: int, statuses: Sequence[str]) -> dict[str, int | None]:
        """``{month: price edition}`` of the tenant's batches in ``statuses`` (``None``: priced before editions)."""
        rows = self.session.execute(select(Batch.month, Batch.price_edition)
                                    .where(Batch.tenant_id == tenant_id, Batch.status.in_(statuses)))
        return dict(rows.tuples().all())

    def list(self, tenant_ids: Sequence[int], month: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[Sequence[Batch], int]:
        """A page of batches, newest month first, and the total count."""
        where = [Batch.tenant_id.in_(tenant_ids)]
        if month:
            where.append(Batch.month == month)
        total = self.session.scalar(select(func.count()).select_from(Batch).where(*where)) or 0
        rows = self.session.scalars(
            select(Batch).where(*where).order_by(Batch.month.desc(), Batch.tenant_id).limit(limit).offset(offset)
        ).all()
        return rows, total

    def previous(self, tenant_id: int, month: str) -> Batch | None:
        return self.session.scalar(
            select(Batch).where(Batch.tenant_id == tenant_id, Batch.month < month).order_by(Batch.month.desc()).limit(1)
        )

    # --- inputs of a build, per tenant -------------------------------------------------------------------------

    # Read-only rows (every column of the model, attribute access like the model; ``bulk_rows``) instead of ORM
    # objects: a build reads hundreds of thousands of them and changes none.

    # Each read takes a ``shard`` (``ledger.shards``): a partitioned build reads one range of customers at a time.

    def subscriptions(self, tenant_id: int, shard: Shard = WHOLE) -> list[Any]:
        """Every column but the row's own bookkeeping (``created_at``, ``updated_at``: no price or period depends on
        when the sync wrote the row, and two instants per licence are a tenth of a build's reading)."""
        columns = [column for column in Subscription.__table__.c if column.name not in ("created_at", "updated_at")]
        return self.bulk_rows(
            select(*columns).where(Subscription.tenant_id == tenant_id,
                                   shard.where(Subscription.customer_id)).order_by(Subscription.id)
        )

    def customers(self, tenant_id: int, shard: Shard = WHOLE) -> list[Any]:
        return self.bulk_rows(select(Customer.__table__).where(Customer.tenant_id == tenant_id,
                                                              shard.where(Customer.id)))

    def customer_ids(self, tenant_id: int) -> list[int]:
        """The ids of the tenant's customers, in order: what a partitioned build splits into shards."""
        return list(self.session.scalars(select(Customer.id).where(Customer.tenant_id == tenant_id)
                                         .order_by(Customer.id)))

    def snapshots(self, tenant_id: int, until: dt.date, shard: Shard = WHOLE) -> list[Any]:
        """Snapshots (without the raw payload) of the tenant's subscriptions observed on or before ``until``, in
        observation order."""
        return self.bulk_rows(
            select(Snapshot.id, Snapshot.subscription_id, Snapshot.observed_at, Snapshot.observed_on,
                   Snapshot.quantity, Snapshot.status, Snapshot.product_id, Snapshot.unit_cost, Snapshot.currency)
            .join(Subscription, Subscription.id == Snapshot.subscription_id)
            .where(Subscription.tenant_id == tenant_id, Snapshot.observed_on <= until,
                   shard.where(Subscription.customer_id))
            .order_by(Snapshot.subscription_id, Snapshot.observed_at, Snapshot.id)
        )

    def mutations(self, tenant_id: int, shard: Shard = WHOLE) -> list[Any]:
        """Mutations that still stand (not cancelled), in effective-date order."""
        return self.bulk_rows(
            select(Mutation.__table__)
            .where(Mutation.tenant_id == tenant_id, Mutation.status != "cancelled",
                   *_of_subscriptions(Mutation.subscription_id, shard))
            .order_by(Mutation.subscription_id, Mutation.effective_date, Mutation.id)
        )

    def cost_prices(self, tenant_id: int, shard: Shard = WHOLE) -> list[Any]:
        """What the vendor charged per unit for each subscription (cost lines), oldest charge first."""
        return self.bulk_rows(
            select(CostLine.id, CostLine.subscription_id, CostLine.product_id, CostLine.charge_start,
                   CostLine.charge_end, CostLine.unit_price, CostLine.currency)
            .where(CostLine.tenant_id == tenant_id, CostLine.subscription_id.is_not(None),
                   *_of_subscriptions(CostLine.subscription_id, shard))
            .order_by(CostLine.subscription_id, CostLine.charge_start, CostLine.id)
        )

    def one_time_cost_lines(self, tenant_id: int, until: dt.date, shard: Shard = WHOLE) -> list[Any]:
        """Cost lines of one-time purchases and of their refunds ordered on or before ``until``: the line says it is
        one-time, or it belongs to a one-time subscription and does not say otherwise; trials are left out. Each row
        carries ``customer_id``: the customer the source's customer id names (else its Microsoft tenant id), for
        lines without a ledger subscription. A shard holds a line by its subscription's customer, else by that one."""
        by_source, by_tenant = aliased(CustomerExternalId), aliased(CustomerExternalId)
        owner = aliased(Subscription)
        one_time = select(Subscription.id).where(Subscription.tenant_id == tenant_id,
                                                 Subscription.billing_type == "one_time")
        ordered = func.coalesce(CostLine.ordered_on, CostLine.charge_start)
        named = func.coalesce(by_source.customer_id, by_tenant.customer_id)
        query = (
            select(CostLine.id, CostLine.source, CostLine.line_id, CostLine.subscription_id,
                   CostLine.customer_external_id, CostLine.subscription_external_id, CostLine.product_id,
                   CostLine.charge_type, CostLine.charge_start, CostLine.quantity, CostLine.unit_price,
                   CostLine.subtotal, CostLine.currency, CostLine.reference_id, CostLine.billing_type,
                   CostLine.order_id, CostLine.ordered_on, CostLine.product_name,
                   named.label("customer_id"))
            .outerjoin(by_source, and_(by_source.source == CostLine.source,
                                       by_source.external_id == CostLine.customer_external_id))
            .outerjoin(by_tenant, and_(by_tenant.source == "entra",
                                       by_tenant.external_id == CostLine.customer_external_id))
            .where(CostLine.tenant_id == tenant_id, ordered <= until,
                   or_(CostLine.billing_type == "one_time",
                       and_(CostLine.billing_type.is_(None), CostLine.subscription_id.in_(one_time))))
            .order_by(CostLine.id)
        )
        if not shard.whole:
            query = (query.outerjoin(owner, owner.id == CostLine.subscription_id)
                     .where(shard.where(func.coalesce(owner.customer_id, named))))
        return self.bulk_rows(query)

    def usage_rows(self, tenant_id: int, first: dt.date, last: dt.date, shard: Shard = WHOLE) -> list[Any]:
        """Usage rows of the days ``first`` to ``last`` (inclusive). A shard holds a row by its customer, else by its
        subscription's."""
        query = (select(UsageRow.__table__)
                 .where(UsageRow.tenant_id == tenant_id, UsageRow.usage_date >= first, UsageRow.usage_date <= last)
                 .order_by(UsageRow.id))
        if not shard.whole:
            query = (query.outerjoin(Subscription, Subscription.id == UsageRow.subscription_id)
                     .where(shard.where(func.coalesce(UsageRow.customer_id, Subscription.customer_id))))
        return self.bulk_rows(query)


def _of_subscriptions(column: ColumnElement, shard: Shard) -> list[ColumnElement[bool]]:
    """The condition "``column`` names a subscription of a customer in ``shard``" (none for the whole tenant)."""
    if shard.whole:
        return []
    return [column.in_(select(Subscription.id).where(shard.where(Subscription.customer_id)))]
