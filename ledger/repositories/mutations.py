"""Mutations: service-desk requests to change a subscription, saved only after the NCE rules accepted them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from ledger.models import Mutation
from ledger.repositories.base import Repository, chunks


class MutationRepository(Repository):
    def get(self, mutation_id: int, lock: bool = False) -> Mutation | None:
        """The row; ``lock`` reads it ``FOR UPDATE`` (the desk withdrawing it)."""
        return self.session.get(Mutation, mutation_id, with_for_update=lock or None)

    def add(self, **fields: object) -> Mutation:
        mutation = Mutation(**fields)
        self.session.add(mutation)
        self.session.flush()
        return mutation

    def by_ticket(self, subscription_id: int, ticket_ref: str) -> Sequence[Mutation]:
        return self.session.scalars(
            select(Mutation)
            .where(Mutation.subscription_id == subscription_id, Mutation.ticket_ref == ticket_ref)
            .order_by(Mutation.id)
        ).all()

    def for_subscription(self, subscription_id: int) -> Sequence[Mutation]:
        return self.session.scalars(
            select(Mutation).where(Mutation.subscription_id == subscription_id).order_by(Mutation.effective_date,
                                                                                          Mutation.id)
        ).all()

    def for_subscriptions(self, subscription_ids: Sequence[int]) -> list[Mutation]:
        """The mutations of many subscriptions, each subscription's in (effective date, id) order: what the vendor
        counts of a month's changed subscriptions read, however many mutations the legal entity has."""
        found: list[Mutation] = []
        for chunk in chunks(subscription_ids):
            found += self.session.scalars(
                select(Mutation).where(self.one_of(Mutation.subscription_id, chunk))
                .order_by(Mutation.effective_date, Mutation.id)).all()
        return found

    def standing_rows(self, subscription_ids: Sequence[int]) -> list[Any]:
        """The mutations of many subscriptions that still stand (not cancelled), as rows with the model's columns in
        :meth:`for_subscriptions`'s order: what a month's vendor counts read, without loading objects to change."""
        found: list[Any] = []
        for chunk in chunks(subscription_ids):
            found += self.bulk_rows(
                select(Mutation.__table__).where(self.one_of(Mutation.subscription_id, chunk),
                                                 Mutation.status != "cancelled")
                .order_by(Mutation.effective_date, Mutation.id))
        return found

    def withdrawn(self, tenant_id: int) -> Sequence[Row]:
        """``(id, cancelled_by)`` of the tenant's withdrawn (cancelled) mutations, all of them."""
        return self.session.execute(select(Mutation.id, Mutation.cancelled_by)
                                    .where(Mutation.tenant_id == tenant_id, Mutation.status == "cancelled")).all()

    def search(
        self,
        tenant_ids: Sequence[int],
        subscription_id: int | None = None,
        status: str | None = None,
        effective_from: dt.date | None = None,
        effective_to: dt.date | None = None,
        limit: int = 200,
    ) -> Sequence[Mutation]:
        query = select(Mutation).where(Mutation.tenant_id.in_(tenant_ids))
        if subscription_id is not None:
            query = query.where(Mutation.subscription_id == subscription_id)
        if status:
            query = query.where(Mutation.status == status)
        if effective_from is not None:
            query = query.where(Mutation.effective_date >= effective_from)
        if effective_to is not None:
            query = query.where(Mutation.effective_date <= effective_to)
        return self.session.scalars(query.order_by(Mutation.effective_date, Mutation.id).limit(limit)).all()
