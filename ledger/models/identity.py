"""Who is signed in: sessions and API tokens (only their hashes), and the sign-in attempts lockout counts.

Why in the ledger and not in a signed cookie or a local file: a session must be revocable (logout, an administrator,
an expired password) and checked again at the moment money changes (approval), from the CLI, the web desk and
automation alike; the ledger is the one place all of them read.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class AuthSession(Base):
    """One sign-in of a person (CLI or web) or one API token of a service account."""

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    principal: Mapped[str] = mapped_column(String(16))  # person, service
    channel: Mapped[str] = mapped_column(String(16))  # cli, web, api
    method: Mapped[str] = mapped_column(String(24))  # password, entra, device_code, api_token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token; the token is never stored
    label: Mapped[str | None] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(200))  # host or address it was issued to
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(40))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class SignInAttempt(Base):
    """A sign-in that was tried: failures of one name within the lockout window lock that name for a while."""

    __tablename__ = "sign_in_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    client: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(40))  # bad_password, unknown_user, locked, ok
