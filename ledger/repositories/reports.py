"""Reads for the margin, leakage and MRR reports: billed lines, vendor cost lines and seat snapshots of a stretch of
months, already joined to the customer and product names a report shows.

Why its own repository: the reports read across aggregates (lines with their batch status, cost lines with the
customer a source names) in a few wide queries, instead of one query per subscription.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Row, func, select

from ledger.models import (
    Batch,
    CostLine,
    Customer,
    CustomerExternalId,
    Invoice,
    InvoiceLine,
    Snapshot,
    Subscription,
)
from ledger.repositories.base import Repository
from ledger.repositories.invoices import CLOSED


class ReportRepository(Repository):
    def billed_months(self, tenant_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """``{tenant_id: (first batch month, last approved or exported batch month)}`` of tenants with a closed one."""
        first = dict(self.session.execute(select(Batch.tenant_id, func.min(Batch.month))
                                          .where(Batch.tenant_id.in_(tenant_ids)).group_by(Batch.tenant_id)).all())
        last = self.session.execute(select(Batch.tenant_id, func.max(Batch.month))
                                    .where(Batch.tenant_id.in_(tenant_ids), Batch.status.in_(CLOSED))
                                    .group_by(Batch.tenant_id)).all()
        return {tenant_id: (first[tenant_id], month) for tenant_id, month in last}

    def billed(self, tenant_ids: Sequence[int], first: dt.date, last: dt.date) -> Sequence[Row]:
        """Lines of approved or exported batches whose stretch starts in ``first``..``last`` (inclusive), with the
        customer's name, the subscription's product and billing type, and the lineage's inputs."""
        return self.session.execute(
            select(InvoiceLine.line_key, InvoiceLine.tenant_id, InvoiceLine.subscription_id, InvoiceLine.kind,
                   InvoiceLine.description, InvoiceLine.period_from, InvoiceLine.period_to, InvoiceLine.amount,
                   InvoiceLine.currency, InvoiceLine.lineage, Customer.name.label("customer"),
                   Subscription.product_name, Subscription.billing_type)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .join(Batch, Batch.id == Invoice.batch_id)
            .join(Customer, Customer.id == InvoiceLine.customer_id)
            .outerjoin(Subscription, Subscription.id == InvoiceLine.subscription_id)
            .where(InvoiceLine.tenant_id.in_(tenant_ids), Batch.status.in_(CLOSED),
                   InvoiceLine.period_from >= first, InvoiceLine.period_from <= last)
            .order_by(InvoiceLine.id)
        ).all()

    def costs(self, tenant_ids: Sequence[int], first: dt.date, last: dt.date) -> Sequence[Row]:
        """Vendor cost lines whose charge starts in ``first``..``last`` (inclusive), with the customer's name (through
        the subscription, else through the source's customer id) and the product name."""
        named = (select(CustomerExternalId.source, CustomerExternalId.external_id, Customer.name)
                 .join(Customer, Customer.id == CustomerExternalId.customer_id).subquery())
        return self.session.execute(
            select(CostLine.id, CostLine.tenant_id, CostLine.subscription_id, CostLine.source, CostLine.charge_type,
                   CostLine.charge_start, CostLine.charge_end, CostLine.subtotal, CostLine.currency,
                   CostLine.customer_external_id, CostLine.product_id,
                   CostLine.product_name.label("cost_product"), Subscription.product_name,
                   Customer.name.label("customer"), named.c.name.label("named_customer"))
            .outerjoin(Subscription, Subscription.id == CostLine.subscription_id)
            .outerjoin(Customer, Customer.id == Subscription.customer_id)
            .outerjoin(named, (named.c.source == CostLine.source)
                       & (named.c.external_id == CostLine.customer_external_id))
            .where(CostLine.tenant_id.in_(tenant_ids), CostLine.charge_start >= first, CostLine.charge_start <= last)
            .order_by(CostLine.id)
        ).all()

    def seats(self, tenant_ids: Sequence[int], last: dt.date) -> Sequence[Row]:
        """Every snapshot observed on or before ``last`` with its subscription's tenant and product, in observation
        order per subscription."""
        return self.session.execute(
            select(Snapshot.subscription_id, Snapshot.observed_on, Snapshot.quantity, Snapshot.status,
                   Subscription.tenant_id, Subscription.product_name)
            .join(Subscription, Subscription.id == Snapshot.subscription_id)
            .where(Subscription.tenant_id.in_(tenant_ids), Snapshot.observed_on <= last)
            .order_by(Snapshot.subscription_id, Snapshot.observed_at, Snapshot.id)
        ).all()
