"""The shape the distributor sandboxes (Pax8, Ingram CMP) share: bearer tokens, a per-minute quota, paged lists and
their settings and seat-count admin routes.

Why one piece: both vendors issue short-lived opaque tokens checked on the sandbox clock (knob ``expire_token``
revokes them all), throttle per minute with an optional ``Retry-After``, page lists with the record knobs
(``malformed``, ``broken_page``) and let tests change settings at run time. What differs stays in each vendor
module and is handed in here: how credentials are presented, paging parameters and envelope, error bodies, paths.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from typing import Any

from sandbox.core import Clock, Handler, Request, Response, SandboxApp
from sandbox.knobs import RateWindow, broken_json, corrupt
from sandbox.routing import Routes

# (request) -> (offset, size) of the page asked for, or the vendor's error answer
Window = Callable[[Request], "tuple[int, int] | Response"]
# (records of the page, offset, size, total) -> the vendor's page body
Envelope = Callable[[list[dict[str, Any]], int, int, int], dict[str, Any]]


class TokenBook:
    """Opaque bearer tokens (``prefix`` + random text) issued at the sandbox clock's now."""

    def __init__(self, clock: Clock, prefix: str, size: int) -> None:
        self.clock = clock
        self.prefix = prefix
        self.size = size
        self._issued: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def issue(self) -> tuple[str, dt.datetime]:
        """A new token and the instant it was issued."""
        token = self.prefix + secrets.token_urlsafe(self.size)
        now = self.clock.now()
        with self._lock:
            self._issued[token] = now
        return token, now

    def accepts(self, request: Request, ttl: int) -> bool:
        """Whether the request's ``Authorization: Bearer`` token was issued here less than ``ttl`` seconds ago.

        Knob ``expire_token`` revokes every token issued so far before looking.
        """
        if request.has_fault("expire_token"):
            with self._lock:
                self._issued.clear()
        header = request.header("Authorization") or ""
        with self._lock:
            issued = self._issued.get(header[7:]) if header.startswith("Bearer ") else None
        return issued is not None and self.clock.now() < issued + dt.timedelta(seconds=ttl)


class Quota:
    """Calls per rolling minute; over the limit the vendor's 429, with ``Retry-After`` when the vendor sends one."""

    def __init__(self, limit: int | None) -> None:
        self.window = RateWindow(limit)

    def refuse(self, limit: int | None, retry_after: bool, refusal: Callable[[], Response]) -> Response | None:
        """``None`` when this call may pass under ``limit`` (``None`` = no limit), else ``refusal()``."""
        self.window.limit = limit
        wait = self.window.admit()
        if not wait:
            return None
        response = refusal()
        if retry_after:
            response.headers["Retry-After"] = str(int(wait) + 1)
        return response


def page(request: Request, items: list[dict[str, Any]], window: Window, envelope: Envelope) -> Response:
    """One page of ``items`` in the vendor's paging style, with knobs ``malformed`` and ``broken_page`` applied."""
    bounds = window(request)
    if isinstance(bounds, Response):
        return bounds
    offset, size = bounds
    chunk = items[offset:offset + size]
    malformed = request.has_fault("malformed")
    if malformed:
        chunk = corrupt(chunk, malformed)
    body = envelope(chunk, offset, size, len(items))
    return broken_json(body) if request.has_fault("broken_page") else Response(200, body)


def admin_routes(app: SandboxApp, vendor: str, settings: dict[str, Any], set_quantity: Handler) -> None:
    """``POST /__admin/{vendor}/settings`` (change known settings) and ``POST /__admin/{vendor}/quantity``."""
    admin = Routes(app, f"/__admin/{vendor}")
    admin("POST", r"/quantity")(set_quantity)

    @admin("POST", r"/settings")
    def update_settings(request: Request) -> Response:
        changes = request.json() or {}
        unknown = set(changes) - set(settings)
        if unknown:
            return Response(400, {"error": f"unknown settings {sorted(unknown)}"})
        settings.update(changes)
        return Response(200, settings)
