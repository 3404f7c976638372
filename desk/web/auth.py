"""Who is asking: session sign-in, the trusted proxy header, CSRF tokens, and the actor every route checks.

The cookie holds only a ledger session's token (and the CSRF token): the session itself lives in the ledger, so
logging out and an administrator revoke it for good. Why the CSRF token lives in the session: the cookie is signed
and HttpOnly, so a token copied into each form
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
from services.access import Actor
from services.errors import NotSignedIn
from services.identity import Issued, authenticate, sign_in_external
from services.identity import sign_out as revoke

log = logging.getLogger("cspbill.web")

SESSION_TOKEN = "token"
SESSION_PROXY_USER = "proxy_user"
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


def sign_in(request: Request, issued: Issued) -> None:
    """Start a fresh cookie session (new CSRF token) holding only the ledger session's token: a token seen before
    sign-in is worth nothing afterwards, and logging out or an administrator revokes it on the server."""
    request.session.clear()
    request.session[SESSION_TOKEN] = issued.token
    csrf_token(request)


def sign_out(request: Request) -> None:
    token = request.session.get(SESSION_TOKEN)
    if token:
        revoke(request.app.state.settings, token)
    request.session.clear()


def client_address(request: Request) -> str | None:
    """The client's address: the connection's peer, or what a trusted proxy forwarded (``desk.web.transport``)."""
    return request.client.host if request.client else None


def safe_next(target: str | None) -> str:
    """Only same-site paths after sign-in (``//evil`` and absolute URLs would be an open redirect)."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def refusal_text(exc: NotSignedIn) -> str:
    """The services' refusal as a sentence for the sign-in page."""
    text = str(exc).removeprefix("sign-in refused: ")
    return text[:1].upper() + text[1:]


def _proxy_session(request: Request, settings: Settings, header: str) -> None:
    """Behind a signing-in proxy: open a ledger session for the name the proxy vouches for, once per cookie. The
    header reaches here only from ``web.trusted_proxies``; a session the proxy opened lasts only while the proxy
    keeps vouching for that same name."""
    name = (request.headers.get(header) or "").strip().lower()
    vouched = request.session.get(SESSION_PROXY_USER)
    if not name:
        if vouched:
            log.info("web: the proxy no longer names %s; its session ends", vouched)
            sign_out(request)
        return
    if request.session.get(SESSION_TOKEN) and vouched == name:
        return
    sign_out(request)
    try:
        issued = sign_in_external(settings, name, "proxy", "web", client_address(request))
    except NotSignedIn:
        raise LoginRequired() from None
    sign_in(request, issued)
    request.session[SESSION_PROXY_USER] = name


def current_actor(request: Request) -> Actor:
    """The signed-in person as an ``Actor`` (FastAPI dependency): the cookie's token must still be a live session in
    the ledger; a revoked, expired or replayed-after-logout cookie means signing in again."""
    settings: Settings = request.app.state.settings
    header = settings.web.trusted_proxy_header
    if header:
        _proxy_session(request, settings, header)
    token = request.session.get(SESSION_TOKEN)
    if not token:
        raise LoginRequired()
    try:
        return authenticate(settings, token, "web")
    except NotSignedIn:
        request.session.clear()
        raise LoginRequired() from None
