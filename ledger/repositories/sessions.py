"""Sessions and API tokens by their token hash, and the sign-in attempts the lockout counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update

from ledger.models import AuthSession, SignInAttempt
from ledger.repositories.base import Repository


class SessionRepository(Repository):
    def add(self, session: AuthSession) -> AuthSession:
        self.session.add(session)
        self.session.flush()
        return session

    def by_token_hash(self, token_hash: str) -> AuthSession | None:
        return self.session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))

    def get(self, session_id: int) -> AuthSession | None:
        return self.session.get(AuthSession, session_id)

    def active(self, now: dt.datetime, username: str | None = None) -> Sequence[AuthSession]:
        """Sessions and tokens neither revoked nor expired, newest first."""
        query = (select(AuthSession).where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)
                 .order_by(AuthSession.created_at.desc(), AuthSession.id.desc()))
        if username is not None:
            query = query.where(AuthSession.username == username)
        return self.session.scalars(query).all()

    def revoke_all(self, username: str, now: dt.datetime, by: str, reason: str) -> int:
        result = self.session.execute(
            update(AuthSession)
            .where(AuthSession.username == username, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now)
            .values(revoked_at=now, revoked_by=by, revoke_reason=reason))
        return result.rowcount or 0

    def last_sign_in(self) -> dict[str, dt.datetime]:
        """username -> when they last signed in (a session or token was issued)."""
        rows = self.session.execute(
            select(AuthSession.username, func.max(AuthSession.created_at)).group_by(AuthSession.username))
        return {name: at for name, at in rows}


class SignInAttemptRepository(Repository):
    def add(self, username: str, client: str | None, at: dt.datetime, succeeded: bool, reason: str) -> None:
        self.session.add(SignInAttempt(username=username[:200], client=client, at=at, succeeded=succeeded,
                                       reason=reason))
        self.session.flush()

    def failures_since(self, username: str, since: dt.datetime) -> list[dt.datetime]:
        """When ``username``'s failed attempts happened since ``since`` (oldest first), counting back only to the
        last success: a successful sign-in clears the count."""
        last_ok = self.session.scalar(select(func.max(SignInAttempt.at)).where(
            SignInAttempt.username == username, SignInAttempt.succeeded.is_(True)))
        start = max(since, last_ok) if last_ok is not None else since
        return list(self.session.scalars(
            select(SignInAttempt.at).where(SignInAttempt.username == username, SignInAttempt.succeeded.is_(False),
                                           SignInAttempt.at > start).order_by(SignInAttempt.at)))

    def failures_from(self, client: str, since: dt.datetime) -> int:
        """Failed attempts from one client (address) since ``since``, whatever name they tried."""
        return self.session.scalar(select(func.count()).select_from(SignInAttempt).where(
            SignInAttempt.client == client, SignInAttempt.succeeded.is_(False), SignInAttempt.at > since)) or 0
