"""`cspbill audit`: the audit trail (builds, changes, approvals, rejections, exports) for the tenants a user may see.

Events without a tenant (``init``) are shown to administrators only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from config import Settings
from services.access import Actor, require
from services.runtime import engine_for
from services.uow import UnitOfWork


def list_events(settings: Settings, who: Actor, tenant_code: str | None = None,
                since: dt.date | None = None, action: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Audit events, newest first: who, when, what, and the figures before and after."""
    require(who, "finance", tenant_code)
    with UnitOfWork(engine_for(settings)) as uow:
        codes = {t.id: t.code for t in uow.tenants.all()}
        everything = who.is_admin and not who.tenants and tenant_code is None
        visible = None if everything else [
            i for i, code in codes.items() if who.can_see(code) and tenant_code in (None, code)]
        start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None
        events = uow.audit.list(tenant_ids=visible, since=start, action=action, limit=limit)
        return [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "tenant": codes.get(e.tenant_id), "entity": e.entity, "entity_id": e.entity_id, "detail": e.detail,
             "before": e.before, "after": e.after}
            for e in events
        ]
