"""Audit events: who did what, when, with before/after figures. Append-only, and hash-chained per legal entity.

Why events are chained at commit, not when recorded: appending locks the chain's head row until the transaction
ends. A use case records its events along the way (a reconcile run, a batch build that first records a price
edition), so taking the lock at ``record`` would hold it through the whole use case and make every other writer of
that legal entity wait; taken just before COMMIT it is held for a moment. The head row is created by an insert
that tolerates the race (``ON CONFLICT DO NOTHING``) and then locked with ``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite the unit of work's ``BEGIN IMMEDIATE`` already serialises writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import event, select, text, union, update
from sqlalchemy.orm import Session, SessionTransaction

from ledger.audit_chain import GENESIS, chain_of, event_hash, plain
from ledger.models import AuditChain, AuditEvent
from ledger.repositories.base import Repository, insert_if_missing

PENDING = "cspbill.audit.pending"  # Session.info key: events recorded in this transaction, not chained yet


class AuditRepository(Repository):
    def record(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: str | int | None = None,
        tenant_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        detail: str | None = None,
        at: dt.datetime | None = None,
    ) -> AuditEvent:
        """Record an event; it is written, chained, when the unit of work commits (and not at all on rollback).

        ``at`` is the instant by the caller's clock (the services' now: a replayed night in the demo); without it,
        the wall-clock time. ``recorded_at`` is always the wall-clock time, whatever clock the caller runs on.
        """
        recorded_at = dt.datetime.now(dt.UTC)
        audit_event = AuditEvent(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            tenant_id=tenant_id,
            before=plain(before),
            after=plain(after),
            detail=detail,
            at=at or recorded_at,
            recorded_at=recorded_at,
            chain=chain_of(tenant_id),
        )
        self.session.info.setdefault(PENDING, []).append(audit_event)
        return audit_event

    def list(
        self,
        tenant_ids: Sequence[int] | None = None,
        since: dt.datetime | None = None,
        action: str | None = None,
        limit: int = 100,
        *,
        actor: str | None = None,
        before: dt.datetime | None = None,
        offset: int = 0,
    ) -> Sequence[AuditEvent]:
        """Events in the order they were written, newest first (not by ``at``: a replayed or overridden clock must
        not reorder the trail); ``since`` (inclusive) and ``before`` (exclusive) are instants by the services'
        clock."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).offset(offset).limit(limit)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if before is not None:
            query = query.where(AuditEvent.at < before)
        if tenant_ids is not None:
            query = query.where(AuditEvent.tenant_id.in_(tenant_ids))
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        if action:
            query = query.where(AuditEvent.action == action)
        return self.session.scalars(query).all()

    # --- verification -------------------------------------------------------------------------------------------

    def read_one_snapshot(self) -> None:
        """Make the rest of this (read) transaction see one snapshot on PostgreSQL, so chains appended meanwhile
        are read whole or not at all. Call first in the unit of work. SQLite's read transactions already do."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))

    def chains(self) -> list[str]:
        """Every chain that has a head row or an event (a head row may have been removed)."""
        return sorted(self.session.scalars(union(select(AuditChain.chain), select(AuditEvent.chain).distinct())))

    def head(self, chain: str) -> AuditChain | None:
        return self.session.get(AuditChain, chain)

    def chain_events(self, chain: str) -> Iterator[AuditEvent]:
        """The chain's events in seq order, streamed."""
        query = select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq, AuditEvent.id)
        for audit_event in self.session.scalars(query.execution_options(yield_per=1000)):
            yield audit_event
            self.session.expunge(audit_event)


def _append(session: Session, events: Sequence[AuditEvent]) -> None:
    # Heads are locked in chain order, so two transactions writing to the same chains never wait on each other
    # in a cycle.
    for chain in sorted({e.chain for e in events}):
        insert_if_missing(session, AuditChain, chain=chain, last_seq=0, last_hash=GENESIS)
        seq, prev = session.execute(
            select(AuditChain.last_seq, AuditChain.last_hash).where(AuditChain.chain == chain).with_for_update()
        ).one()
        for audit_event in (e for e in events if e.chain == chain):
            seq += 1
            audit_event.seq, audit_event.prev_hash = seq, prev
            audit_event.hash = prev = event_hash(audit_event, prev)
            session.add(audit_event)
        session.execute(update(AuditChain).where(AuditChain.chain == chain).values(last_seq=seq, last_hash=prev))


@event.listens_for(Session, "before_commit")
def _chain_pending_events(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint is released: the events wait for the real commit
        return
    pending = session.info.pop(PENDING, None)
    if pending:
        _append(session, pending)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending_events(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the real transaction ended (after a commit nothing is pending any more)
        session.info.pop(PENDING, None)
