"""Ledger seeding for the batch tests: customers, subscriptions, snapshots, mutations and usage via the repositories.

Why here and not via `cspbill sync`: the batch rules must be tested on exact, hand-made timelines (a seat change seen
on a given day, a late snapshot, a mutation never provisioned) on both databases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from config import Settings
from ledger.models import Mutation, Snapshot, UsageRow
from services.runtime import engine_for
from services.uow import UnitOfWork

UTC = dt.UTC


def at(day: str, hour: int = 2) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=UTC)


ADDRESS = {"street": "Hoofdstraat 1", "city": "Utrecht", "postal_code": "3511 AA"}  # what approval needs of a buyer


def add_customer(settings: Settings, tenant: str, name: str, country: str = "NL", vat_id: str | None = None,
                 **master_data: object) -> int:
    """A customer with the postal address approval needs (pass ``street=None`` etc. to leave a field empty)."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code(tenant).id
        return uow.customers.add(tenant_id, name, country=country, vat_id=vat_id, reference=name[:10],
                                 **{**ADDRESS, **master_data}).id


def add_subscription(settings: Settings, tenant: str, customer_id: int, external_id: str, start: str,
                     product: str = "CFQ7TTC0LH18:0001", billing: str = "P1M", term: str = "P1Y",
                     anchor: str | None = None, source: str = "partner-center", currency: str = "EUR") -> int:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code(tenant).id
        return uow.subscriptions.add(
            tenant_id=tenant_id, customer_id=customer_id, source=source, external_id=external_id,
            product_id=product, sku=product, product_name="Microsoft 365 E3", term=term, billing=billing,
            start_date=dt.date.fromisoformat(start),
            anchor_date=dt.date.fromisoformat(anchor) if anchor else dt.date.fromisoformat(start),
            status="active", currency=currency,
        ).id


def snapshot(settings: Settings, subscription_id: int, day: str, quantity: int, unit_cost: str | None = "30.00",
             status: str = "active", product: str = "CFQ7TTC0LH18:0001", currency: str = "EUR") -> int:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        snap = uow.snapshots.add(Snapshot(
            subscription_id=subscription_id, observed_at=at(day), observed_on=dt.date.fromisoformat(day),
            quantity=Decimal(quantity), status=status, product_id=product,
            unit_cost=None if unit_cost is None else Decimal(unit_cost),
            currency=currency, raw={"quantity": quantity, "day": day}, raw_hash=""))
        return snap.id


def mutation(settings: Settings, tenant: str, customer_id: int, subscription_id: int, kind: str, effective: str,
             new_quantity: int | None = None, created_by: str = "dana") -> int:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = Mutation(tenant_id=uow.tenants.by_code(tenant).id, customer_id=customer_id,
                       subscription_id=subscription_id, kind=kind, effective_date=dt.date.fromisoformat(effective),
                       new_quantity=None if new_quantity is None else Decimal(new_quantity), ticket_ref="T-1",
                       status="provisioned", created_by=created_by)
        uow.session.add(row)
        uow.flush()
        return row.id


def usage(settings: Settings, tenant: str, customer_id: int, subscription_id: int | None, day: str, cost: str,
          meter: str = "m-1", category: str = "Storage", row_key: str | None = None, currency: str = "EUR") -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.add(UsageRow(
            tenant_id=uow.tenants.by_code(tenant).id, customer_id=customer_id, subscription_id=subscription_id,
            source="azure-costs", row_key=row_key or f"{subscription_id}/{day}/{meter}",
            subscription_external_id=f"azure-{subscription_id}", usage_date=dt.date.fromisoformat(day),
            meter_id=meter, meter_name=f"Meter {meter}", meter_category=category, quantity=Decimal(1),
            cost=Decimal(cost), currency=currency, tags={}))


def mark_exported(settings: Settings, tenant: str, month: str) -> None:
    """What the export service does once every invoice of a batch reached the ERP."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code(tenant).id, month)
        batch.status = "exported"
        uow.invoices.set_status(batch.id, "exported")
