"""Subscriptions: the current descriptive state; quantities over time live in snapshots."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ledger.models import Subscription
from ledger.repositories.base import Repository


class SubscriptionRepository(Repository):
    def get(self, subscription_id: int) -> Subscription | None:
        return self.session.get(Subscription, subscription_id)

    def by_external_id(self, source: str, external_id: str) -> Subscription | None:
        return self.session.scalar(
            select(Subscription).where(Subscription.source == source, Subscription.external_id == external_id)
        )

    def add(self, **fields: object) -> Subscription:
        subscription = Subscription(**fields)
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def for_tenant(self, tenant_id: int) -> Sequence[Subscription]:
        return self.session.scalars(
            select(Subscription).where(Subscription.tenant_id == tenant_id).order_by(Subscription.id)
        ).all()

    def for_customer(self, customer_id: int) -> Sequence[Subscription]:
        return self.session.scalars(
            select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.id)
        ).all()
