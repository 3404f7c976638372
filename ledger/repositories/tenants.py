"""Legal entities and users, mirrored from config so ledger rows can reference them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ledger.models import Tenant, User
from ledger.repositories.base import Repository


class TenantRepository(Repository):
    def by_code(self, code: str) -> Tenant | None:
        return self.session.scalar(select(Tenant).where(Tenant.code == code))

    def all(self) -> Sequence[Tenant]:
        return self.session.scalars(select(Tenant).order_by(Tenant.code)).all()

    def upsert(self, code: str, name: str, country: str, currency: str) -> tuple[Tenant, bool]:
        """Create or update a tenant from config; returns (tenant, changed)."""
        tenant = self.by_code(code)
        if tenant is None:
            tenant = Tenant(code=code, name=name, country=country, currency=currency)
            self.session.add(tenant)
            self.session.flush()
            return tenant, True
        values = {"name": name, "country": country, "currency": currency}
        changed = any(getattr(tenant, k) != v for k, v in values.items())
        for key, value in values.items():
            setattr(tenant, key, value)
        return tenant, changed


class UserRepository(Repository):
    def by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def all(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.username)).all()

    def upsert(
        self, username: str, display_name: str, roles: list[str], tenant_codes: list[str], password_hash: str | None
    ) -> tuple[User, bool]:
        user = self.by_username(username)
        values = {
            "display_name": display_name,
            "roles": list(roles),
            "tenant_codes": list(tenant_codes),
            "password_hash": password_hash,
            "active": True,
        }
        if user is None:
            user = User(username=username, **values)
            self.session.add(user)
            self.session.flush()
            return user, True
        changed = any(getattr(user, k) != v for k, v in values.items())
        for key, value in values.items():
            setattr(user, key, value)
        return user, changed

    def deactivate_missing(self, keep: set[str]) -> int:
        """Users removed from config lose access but stay referenced by their audit events."""
        count = 0
        for user in self.all():
            if user.username not in keep and user.active:
                user.active = False
                count += 1
        return count
