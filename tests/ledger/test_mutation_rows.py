"""The mutations a month's vendor counts read as rows are the standing ones (not cancelled) of the subscriptions
asked for, with the objects' values, in effective-date order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from config import Settings
from ledger.models import Mutation
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.services.batches.test_batch_support import add_customer, add_subscription


def test_standing_rows_are_the_mutations_not_cancelled(settings: Settings) -> None:
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Rows B.V.")
    subs = [add_subscription(settings, "nl-bv", customer, name, "2026-04-01") for name in ("s-1", "s-2", "s-3")]
    with UnitOfWork(engine_for(settings), write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        for sub, day, status in [(subs[0], 20, "open"), (subs[0], 3, "provisioned"), (subs[1], 9, "cancelled"),
                                 (subs[1], 9, "open"), (subs[2], 1, "open")]:
            uow.mutations.add(tenant_id=tenant_id, customer_id=customer, subscription_id=sub, kind="increase",
                              effective_date=dt.date(2026, 5, day), new_quantity=Decimal(day), ticket_ref=f"T-{day}",
                              status=status, created_by="dana")
        asked = subs[:2]
        rows = uow.mutations.standing_rows(asked)
        standing = [m for m in uow.mutations.for_subscriptions(asked) if m.status != "cancelled"]
        assert [(r.subscription_id, r.effective_date.day, r.status) for r in rows] == [
            (subs[0], 3, "provisioned"), (subs[1], 9, "open"), (subs[0], 20, "open")]
        assert [tuple(getattr(r, c.name) for c in Mutation.__table__.c) for r in rows] == [
            tuple(getattr(m, c.name) for c in Mutation.__table__.c) for m in standing]
        assert uow.mutations.standing_rows([]) == []
