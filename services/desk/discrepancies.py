"""Discrepancies as the service desk works them: the list (by tenant, kind, status), and closing one with a note.

Reconciliation (``services.desk.reconcile``) raises them; the sync raises ``unmapped_customer``, ``unmapped_usage``
and ``missing_at_vendor``. One view type, ``DiscrepancyView``, serves the CLI, the web desk and the reconcile report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from config import Settings
from ledger.models import Discrepancy
from services.access import Actor, readable_tenants, require
from services.clock import Clock
from services.errors import NotFound, ValidationFailed
from services.paging import Page, bounds, page_of
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass(frozen=True)
class DiscrepancyView:
    id: int
    tenant: str
    kind: str
    day: dt.date | None
    sentence: str
    status: str
    subscription_id: int | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_by: str | None
    resolution_note: str | None


def view(row: Any, codes: dict[int, str]) -> DiscrepancyView:
    """A ledger ``Discrepancy`` row as people see it, with its tenant's code from ``codes`` (tenant id -> code)."""
    return DiscrepancyView(row.id, codes[row.tenant_id], row.kind, row.day, row.sentence, row.status,
                           row.subscription_id, row.first_seen_at, row.last_seen_at, row.resolved_by,
                           row.resolution_note)


def discrepancy_kinds(settings: Settings, who: Actor) -> list[str]:
    """The kinds present for the actor's tenants, for the filter's choices."""
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk")
        stmt = select(Discrepancy.kind).where(Discrepancy.tenant_id.in_(tenants)).distinct().order_by(Discrepancy.kind)
        return list(uow.session.scalars(stmt))


def list_discrepancies(
    settings: Settings,
    who: Actor,
    tenant: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    offset: int = 0,
    limit: int = 25,
) -> Page:
    """Discrepancies filtered by tenant, kind and status (latest day first)."""
    offset, limit = bounds(offset, limit)
    with UnitOfWork(engine_for(settings)) as uow:
        tenants = readable_tenants(uow.session, settings, who, "desk", tenant)
        rows = uow.discrepancies.search(list(tenants), kind=kind, status=status, limit=limit + 1, offset=offset)
        return page_of(rows, offset, limit, lambda d: view(d, tenants))


def resolve_discrepancy(settings: Settings, who: Actor, discrepancy_id: int, note: str,
                        clock: Clock) -> DiscrepancyView:
    """Close a finding with a note (what was done about it); resolving twice keeps the first resolution."""
    require(who, "desk")
    if not note.strip():
        raise ValidationFailed(f"discrepancy {discrepancy_id}: a resolution note is required")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        codes = {t.id: t.code for t in uow.tenants.all()}
        found = uow.discrepancies.get(discrepancy_id)
        if found is None or not who.can_see(codes.get(found.tenant_id, "")):
            raise NotFound(f"discrepancy {discrepancy_id}: not found")
        if found.status != "resolved":
            now = clock.now()
            found.status, found.resolved_by, found.resolved_at = "resolved", who.username, now
            found.resolution_note = note.strip()
            uow.audit.record(who.username, "discrepancy.resolve", "discrepancy", found.id, found.tenant_id,
                             before={"status": "open"}, after={"status": "resolved", "note": note.strip()}, at=now)
        return view(found, codes)
