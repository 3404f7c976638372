"""Provisionings: the outbox carrying desk mutations to the vendor, one row per mutation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select

from ledger.models import Provisioning
from ledger.repositories.base import Repository

OPEN = ("queued", "sending")  # still to be sent (or being sent)


class ProvisioningRepository(Repository):
    def add(self, **fields: object) -> Provisioning:
        row = Provisioning(**fields)
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, provisioning_id: int, lock: bool = False) -> Provisioning | None:
        """The row; ``lock`` reads it ``FOR UPDATE`` (see :meth:`for_mutation`)."""
        return self.session.get(Provisioning, provisioning_id, with_for_update=lock or None)

    def for_mutation(self, mutation_id: int, lock: bool = False) -> Provisioning | None:
        """The row of a mutation; ``lock`` reads it ``FOR UPDATE``: a run claiming it and the desk withdrawing it
        decide one after the other. PostgreSQL does not serialise write transactions as SQLite's ``BEGIN
        IMMEDIATE`` does, so both read it queued, and the vendor got a mutation the desk had withdrawn, or two runs
        sent it (SQLite ignores the clause: its write transaction already holds the database)."""
        query = select(Provisioning).where(Provisioning.mutation_id == mutation_id)
        return self.session.scalars(query.with_for_update() if lock else query).first()

    def for_mutations(self, mutation_ids: Sequence[int]) -> dict[int, Provisioning]:
        rows = self.session.scalars(select(Provisioning).where(Provisioning.mutation_id.in_(mutation_ids))).all()
        return {row.mutation_id: row for row in rows}

    def due(self, tenant_ids: Sequence[int], now: dt.datetime) -> Sequence[Provisioning]:
        """Queued rows whose backoff has passed and rows in ``sending`` (the caller decides whether their run is
        gone), oldest first."""
        return self.session.scalars(
            select(Provisioning)
            .where(Provisioning.tenant_id.in_(tenant_ids), Provisioning.status.in_(OPEN),
                   or_(Provisioning.next_attempt_at.is_(None), Provisioning.next_attempt_at <= now))
            .order_by(Provisioning.id)
        ).all()

    def applied(self, tenant_ids: Sequence[int]) -> Sequence[Provisioning]:
        """Rows the vendor accepted that no snapshot has confirmed yet."""
        return self.session.scalars(
            select(Provisioning)
            .where(Provisioning.tenant_id.in_(tenant_ids), Provisioning.status == "applied")
            .order_by(Provisioning.id)
        ).all()
