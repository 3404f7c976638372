"""What the desk believes about a connection, and what every answer carries: trusted proxies, session cookies and
security headers (three small ASGI middlewares, outermost first: ``TrustedProxies``, ``SecurityHeaders``,
``SessionCookies``).

Why our own proxy handling and not uvicorn's: the proxy's sign-in header (``web.trusted_proxy_header``) must obey the
same rule as ``X-Forwarded-For`` / ``-Proto``, believed only from ``web.trusted_proxies``; from anyone else the
headers are removed before any route sees them (and logged), so a forged name or address reaches nothing. ``cspbill
serve`` therefore runs uvicorn with its own proxy-header handling off.

Why two cookie flavours: ``Secure`` depends on how this request arrived (HTTPS directly, or per a trusted proxy's
``X-Forwarded-Proto``) unless ``web.secure_cookies`` forces it; SameSite is Lax, not Strict, because the return from
Microsoft's sign-in page is a cross-site top-level GET that must still carry the session holding the sign-in state.
"""

from __future__ import annotations

import logging
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("cspbill.web")
Network = IPv4Network | IPv6Network
FORWARDED_FOR, FORWARDED_PROTO = b"x-forwarded-for", b"x-forwarded-proto"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxies:
    """Believe ``X-Forwarded-For``, ``X-Forwarded-Proto`` and the proxy's sign-in header only from ``proxies``."""

    def __init__(self, app: ASGIApp, proxies: list[Network], sign_in_header: str | None) -> None:
        self.app = app
        self.proxies = proxies
        self.guarded = {FORWARDED_FOR, FORWARDED_PROTO} | ({sign_in_header.lower().encode()} if sign_in_header
                                                            else set())

    def trusted(self, host: str | None) -> bool:
        address = _address(host) if host else None
        return address is not None and any(address in network for network in self.proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        host = peer[0] if peer else None
        headers = scope["headers"]
        if self.trusted(host):
            scope = dict(scope)
            values = dict(headers)
            hops = [part.strip() for part in values.get(FORWARDED_FOR, b"").decode("latin-1").split(",")
                    if part.strip()]
            # the client is the rightmost address no trusted proxy added; our own proxies may chain
            client = next((hop for hop in reversed(hops) if not self.trusted(hop)), None)
            if client is not None and _address(client) is not None:
                scope["client"] = (client, 0)
            proto = values.get(FORWARDED_PROTO, b"").decode("latin-1").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        elif any(name in self.guarded for name, _ in headers):
            names = sorted({name.decode("latin-1") for name, _ in headers if name in self.guarded})
            log.warning("web: ignored %s from %s, which is not in web.trusted_proxies", ", ".join(names), host)
            scope = dict(scope, headers=[(name, value) for name, value in headers if name not in self.guarded])
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Content-Security-Policy (no inline script or style, no framing), nosniff, DENY framing, same-origin referrers
    on every answer, error pages and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((name, value) for name, value in SECURITY_HEADERS if name not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


class SessionCookies:
    """Starlette's signed session cookie (HttpOnly, SameSite=Lax), ``Secure`` per request: forced by ``secure``
    when it is set, else whenever the request came over HTTPS."""

    def __init__(self, app: ASGIApp, secure: bool | None, **options: object) -> None:
        self.secure = secure
        self.plain = SessionMiddleware(app, https_only=False, same_site="lax", **options)
        self.https = SessionMiddleware(app, https_only=True, same_site="lax", **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        over_https = scope.get("scheme") in ("https", "wss")
        secure = self.secure if self.secure is not None else over_https
        await (self.https if secure else self.plain)(scope, receive, send)
