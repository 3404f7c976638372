"""`cspbill audit`: the audit trail (builds, changes, approvals, rejections, exports) for the tenants a user may see,
and `cspbill audit verify`, which walks the hash chains and names the first broken link of each.

Events without a tenant (``init``, price-book editions, FX syncs) form the global chain, shown to and verified by
administrators only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from config import Settings
from ledger.audit_chain import GLOBAL_CHAIN, chain_of, check
from services.access import Actor, require
from services.paging import Page, bounds, page_of
from services.runtime import engine_for
from services.uow import UnitOfWork


def list_events(settings: Settings, who: Actor, tenant_code: str | None = None,
                since: dt.date | None = None, action: str | None = None, limit: int = 200, *,
                actor: str | None = None, until: dt.date | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Audit events, newest first: who, when (by the services' clock, and the wall-clock time it was recorded),
    what, and the figures before and after. ``since`` and ``until`` are days (UTC), both included."""
    require(who, "finance", tenant_code)
    with UnitOfWork(engine_for(settings)) as uow:
        codes = {t.id: t.code for t in uow.tenants.all()}
        visible = None if _everything(who, tenant_code) else [
            i for i, code in codes.items() if who.can_see(code) and tenant_code in (None, code)]
        start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if until else None
        events = uow.audit.list(tenant_ids=visible, since=start, action=action, limit=limit, actor=actor or None,
                                before=end, offset=offset)
        return [
            {"id": e.id, "at": e.at.isoformat(), "recorded_at": e.recorded_at.isoformat(), "actor": e.actor,
             "action": e.action, "tenant": codes.get(e.tenant_id), "entity": e.entity, "entity_id": e.entity_id,
             "detail": e.detail, "before": e.before, "after": e.after, "chain": e.chain, "seq": e.seq}
            for e in events
        ]


def audit_page(settings: Settings, who: Actor, tenant_code: str | None = None, *, actor: str | None = None,
               action: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
               offset: int = 0, limit: int = 50) -> Page[dict[str, Any]]:
    """One window of the audit trail for the desk's audit page (the filters of ``list_events``)."""
    offset, limit = bounds(offset, limit)
    rows = list_events(settings, who, tenant_code, since, action or None, limit + 1, actor=actor, until=until,
                       offset=offset)
    return page_of(rows, offset, limit, lambda row: row)


@dataclass(frozen=True)
class ChainVerdict:
    """One chain walked: how many events, and intact or where it breaks."""

    chain: str
    label: str  # the legal entity's code, or "global"
    events: int
    head_hash: str | None
    broken_seq: int | None = None
    broken_event_id: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def sentence(self) -> str:
        if self.intact:
            head = f", head {self.head_hash}" if self.head_hash else ""
            return f"chain {self.label}: {self.events} events, intact{head}"
        event = f" (event {self.broken_event_id})" if self.broken_event_id is not None else ""
        return f"chain {self.label}: broken at seq {self.broken_seq}{event}: {self.problem}"


def verify_chains(settings: Settings, who: Actor, tenant_code: str | None = None) -> list[ChainVerdict]:
    """Walk the audit chains ``who`` may verify (one legal entity's with ``tenant_code``; finance sees its
    legal entities', an administrator every chain including the global one) and report each."""
    require(who, "finance", tenant_code)
    with UnitOfWork(engine_for(settings)) as uow:
        uow.audit.read_one_snapshot()
        codes = {chain_of(t.id): t.code for t in uow.tenants.all()}
        wanted = [chain for chain, code in codes.items() if who.can_see(code) and tenant_code in (None, code)]
        if _everything(who, tenant_code):
            wanted = sorted(set(wanted) | set(uow.audit.chains()) | {GLOBAL_CHAIN})
        verdicts = []
        for chain in sorted(wanted, key=lambda c: (c == GLOBAL_CHAIN, codes.get(c, c))):
            head = uow.audit.head(chain)
            result = check(chain, uow.audit.chain_events(chain), head and head.last_seq, head and head.last_hash)
            broken = result.broken
            verdicts.append(ChainVerdict(chain, codes.get(chain, chain), result.events, result.head_hash,
                                         broken and broken.seq, broken and broken.event_id,
                                         broken and broken.problem))
        return verdicts


def _everything(who: Actor, tenant_code: str | None) -> bool:
    return who.is_admin and not who.tenants and tenant_code is None
