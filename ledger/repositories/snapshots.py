"""Snapshots: append-only history of what each vendor said, answering "what was the quantity on day D, since when".

The repository offers no update and no delete, a session guard refuses flushing a changed or deleted snapshot, and
database triggers refuse the SQL too: three layers, because rewriting history is how month-end counts stop matching.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ledger.append_only import AppendOnlyViolation
from ledger.json_text import payload_text
from ledger.models import AuditEvent, Snapshot, Subscription
from ledger.repositories.base import Repository, chunks
from ledger.repositories.bulk_insert import Chunk, insert_chunks

APPEND_ONLY_MODELS = (Snapshot, AuditEvent)


def payload_hash(raw: dict[str, Any]) -> str:
    """A stable hash of a vendor payload (sorted keys, decimals as text)."""
    return text_hash(payload_text(raw))


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class QuantityOnDay:
    quantity: Decimal
    status: str
    since: dt.date  # first billing day the vendor showed this state (of the uninterrupted run of it)
    snapshot_id: int


class SnapshotRepository(Repository):
    def add(self, snapshot: Snapshot) -> Snapshot:
        if not snapshot.raw_hash:
            snapshot.raw_hash = payload_hash(snapshot.raw)
        self.session.add(snapshot)
        self.session.flush()
        return snapshot

    def latest(self, subscription_id: int) -> Snapshot | None:
        return self.session.scalar(
            select(Snapshot)
            .where(Snapshot.subscription_id == subscription_id)
            .order_by(Snapshot.observed_at.desc(), Snapshot.id.desc())
            .limit(1)
        )

    def history(self, subscription_id: int) -> Sequence[Snapshot]:
        return self.session.scalars(
            select(Snapshot)
            .where(Snapshot.subscription_id == subscription_id)
            .order_by(Snapshot.observed_at, Snapshot.id)
        ).all()

    def latest_state_hashes_of_source(self, source: str) -> dict[int, str | None]:
        """``{subscription id: state hash of its latest snapshot}`` for every subscription of one source (one query)."""
        latest = (
            select(func.max(Snapshot.id))
            .join(Subscription, Subscription.id == Snapshot.subscription_id)
            .where(Subscription.source == source)
            .group_by(Snapshot.subscription_id)
        )
        query = select(Snapshot.subscription_id, Snapshot.state_hash).where(Snapshot.id.in_(latest))
        return dict(self.core_rows(query).tuples().all())

    def states_for_subscriptions(self, subscription_ids: Sequence[int], until: dt.date) -> list[Any]:
        """What a vendor-state timeline reads of the snapshots of many subscriptions observed on or before ``until``
        (``id``, ``subscription_id``, ``observed_on``, ``observed_at``, ``quantity``, ``status``, ``product_id``,
        ``unit_cost``), in observation order.

        Why rows, not ``Snapshot`` objects: reconciliation reads every snapshot of a legal entity's month, and the
        review cockpit the month's snapshots of tens of thousands of subscriptions on every view of a batch;
        building ORM objects and parsing each raw payload cost more than everything else they do with them."""
        found: list[Any] = []
        for chunk in chunks(subscription_ids):
            found += self.bulk_rows(
                select(Snapshot.id, Snapshot.subscription_id, Snapshot.observed_on, Snapshot.observed_at,
                       Snapshot.quantity, Snapshot.status, Snapshot.product_id, Snapshot.unit_cost)
                .where(self.one_of(Snapshot.subscription_id, chunk), Snapshot.observed_on <= until)
                .order_by(Snapshot.subscription_id, Snapshot.observed_at, Snapshot.id)
            )
        return found

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Append many snapshots at once; each row carries ``raw`` as JSON text (``payload_text``) and ``raw_hash``.

        Why text: the bulk path serialises each payload once, hashes that text and stores the same text.
        """
        return self.add_chunks([rows])

    def add_chunks(self, chunks: Iterable[Chunk]) -> int:
        """:meth:`add_many` of rows built while they are written (one COPY on PostgreSQL: the server stores a chunk
        while the next is serialised)."""
        return insert_chunks(self.session, Snapshot.__table__, chunks, json_text=("raw",))

    def quantity_on(self, subscription_id: int, day: dt.date) -> QuantityOnDay | None:
        """The state in force on ``day`` (last snapshot observed on or before it) and the day it started."""
        current: QuantityOnDay | None = None
        for snap in self.history(subscription_id):
            if snap.observed_on > day:
                break
            same = current is not None and (current.quantity, current.status) == (snap.quantity, snap.status)
            if not same:
                current = QuantityOnDay(snap.quantity, snap.status, snap.observed_on, snap.id)
        return current


@event.listens_for(Session, "before_flush")
def _refuse_history_rewrites(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY_MODELS) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{obj.__tablename__} are append-only: row {obj.id} cannot be changed")
