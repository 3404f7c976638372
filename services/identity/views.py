"""`cspbill users` and the admin page: people and service accounts with their roles, legal entities, last sign-in
and active sessions (administrators only)."""

from __future__ import annotations

from typing import Any

from config import Settings
from services.access import PERSON, SERVICE, Actor, require
from services.identity.tokens import wall_now
from services.runtime import engine_for
from services.uow import UnitOfWork


def list_people(settings: Settings, who: Actor) -> list[dict[str, Any]]:
    """Everyone configured, people first: roles, legal entities, last sign-in, active sessions."""
    require(who, "admin")
    now = wall_now()
    with UnitOfWork(engine_for(settings)) as uow:
        last = uow.sessions.last_sign_in()
        active: dict[str, int] = {}
        for row in uow.sessions.active(now):
            active[row.username] = active.get(row.username, 0) + 1
    people = [{"username": u.username, "name": u.display_name, "kind": PERSON, "roles": list(u.roles),
               "tenants": list(u.tenants) or (["all"] if "admin" in u.roles else []),
               "sign_in": ", ".join(m for m, on in (("password", u.password_hash), ("entra", u.entra_username)) if on),
               "last_sign_in": last.get(u.username), "active_sessions": active.get(u.username, 0)}
              for u in settings.users]
    accounts = [{"username": a.name, "name": a.description, "kind": SERVICE, "roles": list(a.roles),
                 "tenants": list(a.tenants) or ["all"], "sign_in": "api token",
                 "last_sign_in": last.get(a.name), "active_sessions": active.get(a.name, 0)}
                for a in settings.service_accounts]
    return people + accounts


def list_sessions(settings: Settings, who: Actor, username: str | None = None) -> list[dict[str, Any]]:
    """Active sessions and API tokens (never the tokens themselves), newest first."""
    require(who, "admin")
    with UnitOfWork(engine_for(settings)) as uow:
        return [{"id": row.id, "username": row.username, "principal": row.principal, "channel": row.channel,
                 "method": row.method, "client": row.client, "label": row.label, "created_at": row.created_at,
                 "expires_at": row.expires_at, "last_used_at": row.last_used_at}
                for row in uow.sessions.active(wall_now(), username)]
