"""`cspbill init`: create or migrate the ledger, mirror tenants and users from config, and record config.yaml's price
rules as the price book's first edition (a new one only when they changed). Safe to run any time."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from ledger.migrate import upgrade
from services.prices import sync_config
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass(frozen=True)
class InitReport:
    database: str
    revisions: list[str]
    tenants_changed: int
    users_changed: int
    users_deactivated: int
    price_edition: int | None = None  # the config edition recorded by this run, if the rules changed


def initialise(settings: Settings, actor: str = "setup") -> InitReport:
    engine = engine_for(settings)
    revisions = upgrade(engine)
    tenants_changed = users_changed = 0
    with UnitOfWork(engine, write=True) as uow:
        for tenant in settings.tenants:
            _, changed = uow.tenants.upsert(tenant.code, tenant.name, tenant.country, tenant.currency)
            tenants_changed += changed
        for user in settings.users:
            _, changed = uow.users.upsert(
                user.username, user.display_name, list(user.roles), list(user.tenants), user.password_hash
            )
            users_changed += changed
        deactivated = uow.users.deactivate_missing({u.username for u in settings.users})
        edition = sync_config(uow, settings, actor)
        if tenants_changed or users_changed or deactivated:
            uow.audit.record(
                actor,
                "init",
                "ledger",
                after={"tenants_changed": tenants_changed, "users_changed": users_changed, "deactivated": deactivated},
            )
    return InitReport(engine.url.render_as_string(hide_password=True), revisions, tenants_changed, users_changed,
                      deactivated, edition)
