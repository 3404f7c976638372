"""Who may do what, for which legal entity: one place for role and tenant checks used by CLI, web and scheduler.

Person roles (config ``users[].roles``): ``desk`` (customers, subscriptions, mutations, discrepancies), ``finance``
(batches, invoices, exports, prices; includes what desk may do), ``approver`` (approve/reject batches), ``admin``
(everything, every tenant, people and sessions). Service roles (config ``service_accounts[].roles``) are narrow:
``sync`` (run syncs), ``build`` (build draft batches), ``export`` (send approved invoices). The scheduler's own actor
holds exactly those three: it may sync and build drafts, never approve or change prices. A person sees only the
tenants listed for them; an admin with no tenants listed, and a service account with none, see all.

An ``Actor`` also says how it proved who it is (``method``, ``session_id``): services that change money confirm that
session again inside their transaction (``services.identity.confirm``), so a revoked session stops working at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from config.auth import SCHEDULER
from ledger.models import Tenant
from services.errors import NotAllowed, NotFound

SECURITY_LOG = "cspbill.security"
security = logging.getLogger(SECURITY_LOG)  # refusals, for the server log; the CLI shows its own one line
PERSON, SERVICE, SCHEDULED = "person", "service", "scheduler"
IMPLIED_BY = {  # a role is also held by anyone holding one of these
    "desk": {"finance"},
    "sync": {"desk", "finance"},
    "build": {"finance"},
    "export": {"finance"},
}


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]
    tenants: frozenset[str]
    principal: str = PERSON  # person, service, scheduler
    method: str | None = None  # password, entra, device_code, api_token, scheduler
    session_id: int | None = None
    all_tenants: bool = False

    @property
    def is_admin(self) -> bool:
        return self.principal == PERSON and "admin" in self.roles

    @property
    def sees_all(self) -> bool:
        return self.all_tenants or (self.is_admin and not self.tenants)

    def can_see(self, tenant_code: str) -> bool:
        return self.sees_all or tenant_code in self.tenants

    def visible_tenants(self, settings: Settings) -> list[str]:
        return [t.code for t in settings.tenants if self.can_see(t.code)]

    def has_role(self, role: str) -> bool:
        return self.is_admin or role in self.roles or bool(self.roles & IMPLIED_BY.get(role, set()))

    def authentication(self) -> dict[str, Any]:
        """How this actor proved who it is, as recorded on batches and in audit events."""
        return {"username": self.username, "principal": self.principal, "method": self.method,
                "session": self.session_id}


def configured(settings: Settings, username: str, *, method: str | None = None,
               session_id: int | None = None) -> Actor:
    """The configured person or service account named ``username``, as authenticated by ``method``.

    Only ``services.identity`` calls this with a session: everything else receives an ``Actor`` from there.
    """
    for user in settings.users:
        if user.username == username:
            return Actor(user.username, frozenset(user.roles), frozenset(user.tenants), PERSON, method, session_id)
    for account in settings.service_accounts:
        if account.name == username:
            return Actor(account.name, frozenset(account.roles), frozenset(account.tenants), SERVICE, method,
                         session_id, all_tenants=not account.tenants)
    raise NotFound(f"user {username!r}: not in config.yaml users or service_accounts")


def scheduler(settings: Settings) -> Actor:
    """The unattended jobs' own actor (``cspbill serve``, ``cspbill jobs run``): sync, build drafts, resend."""
    del settings  # the scheduler's rights are fixed, not configurable
    return Actor(SCHEDULER, frozenset({"sync", "build", "export"}), frozenset(), SCHEDULED, "scheduler",
                 all_tenants=True)


def require(who: Actor, role: str, tenant_code: str | None = None) -> None:
    """Raise ``NotAllowed`` unless ``who`` has ``role`` (and may see ``tenant_code``)."""
    if not who.has_role(role):
        security.warning("refused user=%s principal=%s role=%s tenant=%s: lacks the role", who.username, who.principal,
                    role, tenant_code)
        raise NotAllowed(f"user {who.username!r} lacks role {role!r}")
    if tenant_code is not None and not who.can_see(tenant_code):
        security.warning("refused user=%s role=%s tenant=%s: another legal entity", who.username, role, tenant_code)
        raise NotFound(f"tenant {tenant_code!r}: not found for user {who.username!r}")


def require_person(who: Actor, action: str) -> None:
    """Approvals and price changes need a person: never a service account or the scheduler."""
    if who.principal != PERSON:
        security.warning("refused %s=%s action=%s: needs a person", who.principal, who.username, action)
        raise NotAllowed(f"{action} needs a signed-in person; {who.principal} {who.username!r} may not")


def readable_tenants(session: Session, settings: Settings, who: Actor, role: str,
                     tenant: str | None = None) -> dict[int, str]:
    """Tenant ids -> codes ``who`` may read with ``role`` (only ``tenant`` when given; NotFound if not visible)."""
    require(who, role, tenant)
    codes = [tenant] if tenant else who.visible_tenants(settings)
    rows = session.execute(select(Tenant.id, Tenant.code).where(Tenant.code.in_(codes))).all()
    return {row.id: row.code for row in rows}


def owned(record: Any, tenants: dict[int, str], what: str, record_id: int) -> Any:
    """``record`` when it exists and belongs to one of ``tenants``; else ``NotFound``, the same answer for a record
    of a tenant the user cannot see as for one that does not exist."""
    if record is None or record.tenant_id not in tenants:
        raise NotFound(f"{what} {record_id}: not found")
    return record
