"""Who may do what, for which legal entity: one place for role and tenant checks used by CLI, web and scheduler.

Roles (config ``users[].roles``): ``desk`` (customers, subscriptions, mutations, discrepancies), ``finance`` (batches,
invoices, exports; includes what desk can see), ``approver`` (approve/reject batches), ``admin`` (everything, every
tenant). A user sees only the tenants listed for them; an admin with no tenants listed sees all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from ledger.models import Tenant
from services.errors import NotAllowed, NotFound

SYSTEM = "system"  # the scheduler and the CLI run without a person unless --as USER is given


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]
    tenants: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def can_see(self, tenant_code: str) -> bool:
        return (self.is_admin and not self.tenants) or tenant_code in self.tenants

    def visible_tenants(self, settings: Settings) -> list[str]:
        return [t.code for t in settings.tenants if self.can_see(t.code)]

    def has_role(self, role: str) -> bool:
        return self.is_admin or role in self.roles or (role == "desk" and "finance" in self.roles)


def actor(settings: Settings, username: str) -> Actor:
    """The configured user named ``username`` (``system`` = the unattended jobs, with every role and tenant)."""
    if username == SYSTEM:
        return Actor(SYSTEM, frozenset({"admin"}), frozenset())
    for user in settings.users:
        if user.username == username:
            return Actor(user.username, frozenset(user.roles), frozenset(user.tenants))
    raise NotFound(f"user {username!r}: not in config.yaml users")


def require(who: Actor, role: str, tenant_code: str | None = None) -> None:
    """Raise ``NotAllowed`` unless ``who`` has ``role`` (and may see ``tenant_code``)."""
    if not who.has_role(role):
        raise NotAllowed(f"user {who.username!r} lacks role {role!r}")
    if tenant_code is not None and not who.can_see(tenant_code):
        raise NotFound(f"tenant {tenant_code!r}: not found for user {who.username!r}")


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
