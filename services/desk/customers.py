"""Customers as the service desk keeps them: the ERP customer number (reference) that joins sources and the ERP.

A customer a vendor knows but the ERP does not (a Partner Center customer, a distributor company without our debtor
number) is created by the sync with an ``unmapped_customer`` discrepancy; setting its reference here resolves it, and
from then on its invoices can be exported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from config import Settings
from ledger.models import Customer, Discrepancy, Subscription, Tenant
from services.access import Actor, readable_tenants, require
from services.clock import Clock
from services.errors import NotFound, ValidationFailed
from services.identity import confirm
from services.paging import Page, bounds, page_of
from services.runtime import engine_for
from services.uow import UnitOfWork

REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$")  # BC's customer No. is Code[20]


@dataclass(frozen=True)
class CustomerView:
    id: int
    tenant: str
    name: str
    reference: str | None
    country: str | None
    vat_id: str | None
    subscriptions: int | None = None  # how many it has, where the list counted them


def list_customers(settings: Settings, who: Actor, tenant: str | None = None, without_reference: bool = False,
                   limit: int = 200, offset: int = 0) -> Sequence[CustomerView]:
    require(who, "desk", tenant)
    codes = [t.code for t in settings.tenants if who.can_see(t.code) and tenant in (None, t.code)]
    with UnitOfWork(engine_for(settings)) as uow:
        query = (select(Customer, Tenant.code).join(Tenant, Tenant.id == Customer.tenant_id)
                 .where(Tenant.code.in_(codes)).order_by(Tenant.code, Customer.name).limit(limit).offset(offset))
        if without_reference:
            query = query.where(Customer.reference.is_(None))
        return [CustomerView(c.id, code, c.name, c.reference, c.country, c.vat_id)
                for c, code in uow.session.execute(query)]


def set_reference(settings: Settings, who: Actor, customer_id: int, reference: str, clock: Clock) -> CustomerView:
    """Give a customer its ERP customer number (unique within its legal entity) and close its unmapped finding."""
    reference = reference.strip()
    if not REFERENCE.fullmatch(reference):
        raise ValidationFailed(f"customer {customer_id} reference: {reference!r} is not an ERP customer number "
                               "(1-20 letters, digits, . _ / -)")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        customer = uow.customers.get(customer_id)
        tenant = customer and uow.session.get(Tenant, customer.tenant_id)
        if customer is None or tenant is None or not who.can_see(tenant.code):
            raise NotFound(f"customer {customer_id}: not found")
        require(who, "desk", tenant.code)
        other = uow.customers.by_reference(tenant.id, reference)
        if other is not None and other.id != customer.id:
            raise ValidationFailed(f"customer {customer_id} reference: {reference!r} is already customer {other.id} "
                                   f"({other.name}) of {tenant.code}")
        before, now = customer.reference, clock.now()
        if before != reference:
            customer.reference = reference
            uow.audit.record(who.username, "customer.reference", "customer", customer.id, tenant.id,
                             before={"reference": before}, after={"reference": reference}, at=now)
        for finding in uow.session.scalars(select(Discrepancy).where(
                Discrepancy.customer_id == customer.id, Discrepancy.kind == "unmapped_customer",
                Discrepancy.status == "open")):
            finding.status, finding.resolved_by, finding.resolved_at = "resolved", who.username, now
            finding.resolution_note = f"ERP reference set to {reference}"
        return CustomerView(customer.id, tenant.code, customer.name, customer.reference, customer.country,
                            customer.vat_id)


def search_customers(settings: Settings, who: Actor, query: str = "", offset: int = 0, limit: int = 25) -> Page:
    """Customers of the actor's legal entities whose name or ERP reference contains ``query``."""
    offset, limit = bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        rows = uow.customers.search(list(tenants), query, limit=limit + 1, offset=offset)
        ids = [c.id for c in rows[:limit]]
        counts = dict(uow.session.execute(
            select(Subscription.customer_id, func.count(Subscription.id))
            .where(Subscription.customer_id.in_(ids)).group_by(Subscription.customer_id)
        ).tuples().all())
        return page_of(rows, offset, limit, lambda c: CustomerView(
            c.id, tenants[c.tenant_id], c.name, c.reference, c.country, c.vat_id, counts.get(c.id, 0)))
