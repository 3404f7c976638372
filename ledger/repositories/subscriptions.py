"""Subscriptions: the current descriptive state; quantities over time live in snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update

from ledger.models import Subscription
from ledger.repositories.base import Repository
from ledger.repositories.bulk_insert import insert_chunks


class SubscriptionRepository(Repository):
    def get(self, subscription_id: int, lock: bool = False) -> Subscription | None:
        """The row; ``lock`` reads it ``FOR UPDATE``, so writers deciding from its state take turns (on SQLite a
        write transaction already holds the whole database)."""
        return self.session.get(Subscription, subscription_id, with_for_update=lock or None)

    def by_external_id(self, source: str, external_id: str) -> Subscription | None:
        return self.session.scalar(
            select(Subscription).where(Subscription.source == source, Subscription.external_id == external_id)
        )

    def add(self, **fields: object) -> Subscription:
        subscription = Subscription(**fields)
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def for_customer(self, customer_id: int) -> Sequence[Subscription]:
        return self.session.scalars(
            select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.id)
        ).all()

    def by_source(self, source: str) -> Sequence[Subscription]:
        """Every subscription one source has shown us (the sync compares a pull against them)."""
        return self.session.scalars(
            select(Subscription).where(Subscription.source == source).order_by(Subscription.id)
        ).all()

    def rows_of_source(self, source: str, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Chosen columns (plus ``id`` and ``external_id``) of a source's subscriptions, as plain dicts (bulk path)."""
        table = Subscription.__table__
        wanted = ["id", "external_id", *[c for c in columns if c not in ("id", "external_id")]]
        query = select(*[table.c[name] for name in wanted]).where(table.c.source == source)
        return [dict(zip(wanted, row, strict=True)) for row in self.core_rows(query)]

    def add_many(self, source: str, chunks: Iterable[Sequence[dict[str, Any]]]) -> dict[str, int]:
        """Insert many subscriptions of one source, given in chunks that may be built while the ledger writes the
        ones before (``insert_chunks``); returns ``{external id: id}`` of the source's subscriptions, the inserted
        ones among them (none inserted: nothing read)."""
        if not insert_chunks(self.session, Subscription.__table__, chunks):
            return {}
        query = select(Subscription.external_id, Subscription.id).where(Subscription.source == source)
        return dict(self.core_rows(query).tuples().all())

    def update_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Update the given columns of many subscriptions, each row naming its ``id`` (all rows same columns)."""
        if not rows:
            return 0
        table = Subscription.__table__
        columns = [name for name in rows[0] if name != "id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in columns})
        )
        self.session.execute(statement, [{f"_{k}": v for k, v in row.items()} for row in rows],
                             execution_options={"synchronize_session": False})
        return len(rows)
