"""Who is asking: session sign-in, the trusted proxy header, CSRF tokens, and the actor every route checks.

Why the CSRF token lives in the session: the session cookie is signed and HttpOnly, so a token copied into each form
proves the POST came from a page we rendered for this session (SameSite=Lax alone does not cover every browser or
top-level POSTs from other sites in all cases).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets

from fastapi import HTTPException, Request

from config import Settings
from services.access import Actor, actor
from services.errors import NotFound
from services.passwords import verify_password

log = logging.getLogger("cspbill.web")

SESSION_USER = "user"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No signed-in user: pages redirect to the sign-in form."""


def session_secret(settings: Settings) -> str:
    """The cookie-signing secret from the configured environment variable, else a random one for this process."""
    name = settings.web.session_secret_env
    value = os.environ.get(name) if name else None
    if value:
        return value
    log.warning("web: %s is not set; using a random session secret for this process (sessions end on restart)",
                name or "web.session_secret_env")
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


async def csrf_guard(request: Request) -> None:
    """Refuse (403) any POST whose form field or header does not carry this session's CSRF token."""
    if request.method != "POST":
        return
    expected = request.session.get(SESSION_CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        log.warning("web: POST %s refused: missing or wrong CSRF token", request.url.path)
        raise HTTPException(status_code=403, detail="The form has expired or did not come from this site (CSRF).")


def authenticate(settings: Settings, username: str, password: str) -> Actor | None:
    """The configured user when the password matches its scrypt hash; ``None`` otherwise (no hint which was wrong)."""
    for user in settings.users:
        if user.username == username and verify_password(password, user.password_hash):
            return actor(settings, username)
    return None


def sign_in(request: Request, who: Actor) -> None:
    """Start a fresh session (new CSRF token) so a token seen before sign-in is worth nothing afterwards."""
    request.session.clear()
    request.session[SESSION_USER] = who.username
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def current_username(request: Request, settings: Settings) -> str | None:
    header = settings.web.trusted_proxy_header
    if header:
        value = request.headers.get(header)
        if value:
            return value.strip().lower()
    return request.session.get(SESSION_USER)


def current_actor(request: Request) -> Actor:
    """The signed-in person as an ``Actor`` (FastAPI dependency); unknown or removed users must sign in again."""
    settings: Settings = request.app.state.settings
    username = current_username(request, settings)
    if not username:
        raise LoginRequired()
    try:
        return actor(settings, username)
    except NotFound:
        request.session.pop(SESSION_USER, None)
        raise LoginRequired() from None
