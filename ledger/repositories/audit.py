"""Audit events: who did what, when, with before/after figures. Append-only like snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ledger.models import AuditEvent
from ledger.repositories.base import Repository


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
    ) -> AuditEvent:
        event = AuditEvent(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            tenant_id=tenant_id,
            before=before,
            after=after,
            detail=detail,
        )
        self.session.add(event)
        self.session.flush()
        return event

    def list(
        self,
        tenant_ids: Sequence[int] | None = None,
        since: dt.datetime | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> Sequence[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        if tenant_ids is not None:
            query = query.where(AuditEvent.tenant_id.in_(tenant_ids))
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        if action:
            query = query.where(AuditEvent.action == action)
        return self.session.scalars(query).all()
