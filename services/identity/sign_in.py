"""Signing in: a password checked against config's scrypt hash, or a name an identity provider vouched for, gives a
session; an administrator gives a service account an API token. Failed attempts lock the name for a while.

Why one refusal for every failure (unknown name, wrong password, no password set): the message must not tell an
attacker which names exist. The log says which it was, without the secret.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from config import Settings
from ledger.models import AuthSession
from services.access import PERSON, SECURITY_LOG, SERVICE, Actor, configured, require, require_person
from services.errors import NotFound, NotSignedIn, ValidationFailed
from services.identity.tokens import new_token, token_hash, wall_now
from services.passwords import verify_password
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
security = logging.getLogger(SECURITY_LOG)  # refusals, for the server log; the CLI shows its own one line
CHANNELS = ("cli", "web")
CLIENT_FACTOR = 4  # one address may fail this many times the per-name limit before it is throttled too


@dataclass(frozen=True)
class Issued:
    """A new session or token: the token itself exists only here, to hand to the person once."""

    token: str
    actor: Actor
    session_id: int
    expires_at: dt.datetime


def sign_in_password(settings: Settings, username: str, password: str, channel: str,
                     client: str | None = None, *, now: dt.datetime | None = None) -> Issued:
    """A session for ``username`` when ``password`` matches; ``NotSignedIn`` (and a recorded failure) otherwise."""
    if channel not in CHANNELS:
        raise ValidationFailed(f"sign-in channel {channel!r}: one of {', '.join(CHANNELS)}")
    name = (username or "").strip().lower()
    now = now or wall_now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        _refuse_if_locked(uow, settings, name, client, now)
        user = next((u for u in settings.users if u.username == name), None)
        reason = "unknown_user" if user is None else (
            "no_password" if not user.password_hash else
            None if verify_password(password or "", user.password_hash) else "bad_password")
        if reason is not None:
            uow.sign_in_attempts.add(name, client, now, False, reason)
            security.warning("sign-in refused user=%s channel=%s client=%s reason=%s", name, channel, client, reason)
    if reason is not None:  # the failure is committed, the refusal raised outside the transaction
        raise NotSignedIn("sign-in refused: wrong username or password")
    return _issue(settings, configured(settings, name), channel, "password", client, now)


def sign_in_external(settings: Settings, username: str, method: str, channel: str, client: str | None = None,
                     *, now: dt.datetime | None = None) -> Issued:
    """A session for a configured person an identity provider (Entra ID) has just authenticated."""
    now = now or wall_now()
    try:
        who = configured(settings, username)
    except NotFound:
        record_refusal(settings, username, client, "unknown_user", method, now=now)
        raise NotSignedIn(f"sign-in refused: {username!r} is not a configured user of this desk") from None
    require_person(who, "signing in")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        _refuse_if_locked(uow, settings, username, client, now)
    return _issue(settings, who, channel, method, client, now)


def record_refusal(settings: Settings, name: str, client: str | None, reason: str, method: str,
                   *, now: dt.datetime | None = None) -> None:
    """A failed sign-in of ``name`` (it counts towards the lockout and the per-address throttle), logged without
    any secret."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.sign_in_attempts.add(name[:200], client, now or wall_now(), False, reason)
    security.warning("sign-in refused user=%s method=%s client=%s reason=%s", name, method, client, reason)


def issue_api_token(settings: Settings, who: Actor, account: str, label: str | None = None,
                    days: int | None = None, *, now: dt.datetime | None = None) -> Issued:
    """An API token for service account ``account`` (admin only): what ``CSPBILL_TOKEN`` holds for automation."""
    require(who, "admin")
    require_person(who, "issuing an API token")
    target = configured(settings, account)
    if target.principal != SERVICE:
        raise ValidationFailed(f"service account {account!r}: people sign in with `cspbill login`, they get no "
                               f"API token")
    now = now or wall_now()
    lifetime = dt.timedelta(days=days or settings.auth.api_token_days)
    issued = _issue(settings, target, "api", "api_token", None, now, lifetime, label)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.audit.record(who.username, "token.issue", "service_account", account,
                         after={"session": issued.session_id, "expires_at": issued.expires_at.isoformat(),
                                "label": label}, detail=f"API token for {account}")
    return issued


def _refuse_if_locked(uow: UnitOfWork, settings: Settings, name: str, client: str | None, now: dt.datetime) -> None:
    window = dt.timedelta(minutes=settings.auth.lockout_minutes)
    failures = uow.sign_in_attempts.failures_since(name, now - window)
    limit = settings.auth.lockout_after
    if len(failures) >= limit:
        until = failures[-limit] + window
        security.warning("sign-in refused user=%s client=%s reason=locked until=%s", name, client, until.isoformat())
        raise NotSignedIn(f"sign-in refused: user {name!r} is locked after {limit} failed sign-ins; try again "
                          f"after {until:%Y-%m-%d %H:%M} UTC or ask an administrator")
    if client and uow.sign_in_attempts.failures_from(client, now - window) >= limit * CLIENT_FACTOR:
        security.warning("sign-in refused client=%s reason=throttled", client)
        raise NotSignedIn(f"sign-in refused: too many failed sign-ins from {client}; try again in "
                          f"{settings.auth.lockout_minutes} minutes")


def _issue(settings: Settings, who: Actor, channel: str, method: str, client: str | None, now: dt.datetime,
           lifetime: dt.timedelta | None = None, label: str | None = None) -> Issued:
    hours = settings.auth.web_session_hours if channel == "web" else settings.auth.cli_session_hours
    expires = now + (lifetime or dt.timedelta(hours=hours))
    token = new_token()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.sessions.add(AuthSession(
            username=who.username, principal=who.principal, channel=channel, method=method,
            token_hash=token_hash(token), client=client, label=label,
            created_at=now, expires_at=expires))
        if who.principal == PERSON:
            uow.sign_in_attempts.add(who.username, client, now, True, "ok")
        log.info("signed in user=%s channel=%s method=%s session=%s", who.username, channel, method, row.id)
        return Issued(token, configured(settings, who.username, method=method, session_id=row.id), row.id, expires)
