"""A token back to the person or service account it was issued to, as long as it is neither expired nor revoked;
signing out and revoking; and the confirmation money-changing services make inside their own transaction."""

from __future__ import annotations

import datetime as dt
import logging

from config import Settings
from ledger.models import AuthSession
from services.access import SCHEDULED, SECURITY_LOG, Actor, configured, require
from services.errors import NotFound, NotSignedIn
from services.identity.tokens import token_hash, wall_now
from services.runtime import engine_for
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
security = logging.getLogger(SECURITY_LOG)  # refusals, for the server log; the CLI shows its own one line
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is refreshed at most this often (no write per request)


def authenticate(settings: Settings, token: str | None, channel: str | None = None) -> Actor:
    """The actor ``token`` belongs to; ``NotSignedIn`` for a missing, unknown, expired or revoked token, or one of a
    person since removed from config."""
    if not token or not token.strip():
        raise NotSignedIn("not signed in: run `cspbill login` (or set CSPBILL_TOKEN to a service account's token)")
    now = wall_now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.sessions.by_token_hash(token_hash(token))
        problem = _problem(row, now) or (None if channel is None or row.channel == channel or
                                         (channel == "cli" and row.channel == "api") else "issued_elsewhere")
        if problem is None:
            try:
                who = configured(settings, row.username, method=row.method, session_id=row.id)
            except NotFound:
                problem = "removed_user"
        if problem is not None:
            security.warning("token refused session=%s user=%s reason=%s", row.id if row else None,
                        row.username if row else None, problem)
            raise NotSignedIn(_REFUSALS[problem])
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            row.last_used_at = now
        return who


def confirm(uow: UnitOfWork, who: Actor) -> None:
    """Inside a money-changing transaction: refuse unless ``who``'s session still stands (not revoked or expired
    since it was checked at the door). The scheduler acts without a session, in its own process."""
    if who.principal == SCHEDULED:
        return
    row = uow.sessions.get(who.session_id) if who.session_id is not None else None
    problem = "unknown" if row is not None and row.username != who.username else _problem(row, wall_now())
    if problem is not None:
        security.warning("action refused user=%s session=%s reason=%s", who.username, who.session_id, problem)
        raise NotSignedIn(_REFUSALS[problem])


def sign_out(settings: Settings, token: str) -> bool:
    """Revoke the session ``token`` opened (logout); ``False`` when it was already gone."""
    now = wall_now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        row = uow.sessions.by_token_hash(token_hash(token))
        if row is None or _problem(row, now):
            return False
        row.revoked_at, row.revoked_by, row.revoke_reason = now, row.username, "signed out"
        log.info("signed out user=%s session=%s", row.username, row.id)
        return True


def revoke_session(settings: Settings, who: Actor, session_id: int | None = None, *, username: str | None = None,
                   reason: str = "revoked by an administrator") -> int:
    """An administrator ends one session or token (``session_id``) or all of a person's (``username``)."""
    require(who, "admin")
    now = wall_now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        if session_id is not None:
            row = uow.sessions.get(session_id)
            if row is None:
                raise NotFound(f"session {session_id}: not found")
            count = 0 if _problem(row, now) else 1
            if count:
                row.revoked_at, row.revoked_by, row.revoke_reason = now, who.username, reason
            target = row.username
        elif username:
            target, count = username, uow.sessions.revoke_all(username, now, who.username, reason)
        else:
            raise NotFound("revoke: give a session id or a username")
        uow.audit.record(who.username, "session.revoke", "user", target,
                         after={"session": session_id, "revoked": count, "reason": reason},
                         detail=f"{count} session(s) of {target} revoked: {reason}")
        return count


def _problem(row: AuthSession | None, now: dt.datetime) -> str | None:
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return None


_REFUSALS = {
    "unknown": "not signed in: the session or token is not known here; run `cspbill login`",
    "revoked": "not signed in: the session or token was revoked (signed out or by an administrator); "
               "run `cspbill login`",
    "expired": "not signed in: the session or token has expired; run `cspbill login`",
    "issued_elsewhere": "not signed in: this token was issued for another channel",
    "removed_user": "not signed in: the user is no longer in config.yaml",
}
