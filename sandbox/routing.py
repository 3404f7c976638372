"""Routing for every sandbox: method + path pattern -> handler, and one vendor API's routes behind its guard.

Why one helper: each vendor sandbox declares the same three things: which method and path pattern reach which
handler, what runs around every handler of one API (the vendor's guard: auth, quota, extra headers) and what a
path that matches nothing answers (the vendor's own error body). ``Router`` is the table (the server resolves
requests with it, the BC ``$batch`` resolves its parts with it); ``Routes`` is one API's group on an app.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.core import Handler, Request, Response, SandboxApp

    Guard = Callable[[Request, Handler], Response]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Any path outside the admin routes: where a vendor's catch-all answers with its own "no such resource".
_ANY_VENDOR_PATH = r"/(?!__admin/).*"


class Router:
    """Routes tried in the order added, then the catch-alls; patterns match whole paths, ignoring case."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._fallbacks: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler, *, fallback: bool = False) -> None:
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"sandbox routes serve {', '.join(METHODS)}, not {method}")
        table = self._fallbacks if fallback else self._routes
        table.append((method, re.compile(pattern, re.IGNORECASE), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler for this request and the named groups of its pattern, or ``None``."""
        for want, pattern, handler in (*self._routes, *self._fallbacks):
            match = pattern.fullmatch(path)
            if match and want == method:
                return handler, match.groupdict()
        return None


class Routes:
    """One vendor API on an app: path patterns under ``base``, every handler reached through ``guard``.

    ``guard(request, handler)`` is the vendor's rule for every call (check auth, count quota, add headers, then
    call ``handler`` or refuse in the vendor's error shape); without one the handler is called as is.
    """

    def __init__(self, app: SandboxApp, base: str = "", guard: Guard | None = None) -> None:
        self.router = app.router
        self.base = base
        self.guard = guard

    def __call__(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@routes("GET", r"/customers/(?P<id>[^/]+)")``; returns the handler unchanged."""

        def register(handler: Handler) -> Handler:
            self.router.add(method, self.base + pattern, self._guarded(handler))
            return handler

        return register

    def not_found(self, handler: Handler) -> None:
        """Every other path under ``base`` (admin routes aside), any method: the vendor's own 404 answer."""
        for method in METHODS:
            self.router.add(method, self.base + _ANY_VENDOR_PATH, self._guarded(handler), fallback=True)

    def _guarded(self, handler: Handler) -> Handler:
        guard = self.guard
        if guard is None:
            return handler
        return lambda request: guard(request, handler)
