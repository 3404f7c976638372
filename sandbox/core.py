"""The small HTTP(S) server every vendor sandbox is built on: requests, an injectable clock, fault knobs, admin routes.

A vendor module creates a ``SandboxApp``, registers its routes through ``sandbox.routing.Routes`` (for example
``Routes(app, guard=...)("GET", r"/v1/customers")``) and is served by ``SandboxServer`` on 127.0.0.1. Faults
are armed per route through ``POST /__admin/faults`` (or ``app.faults.arm(...)`` in-process) so tests and the
demo can inject 429s, 5xx, slow answers, dropped connections and malformed records without the connector knowing
it talks to a sandbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.routing import Router, Routes
from sandbox.tls import TlsFiles


class Clock:
    """The sandbox's idea of now (UTC); tests move it night by night through ``/__admin/clock``."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._fixed = now
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._fixed or dt.datetime.now(dt.UTC)

    def set(self, now: dt.datetime | None) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        with self._lock:
            self._fixed = now

    def advance(self, **delta: float) -> None:
        with self._lock:
            base = self._fixed or dt.datetime.now(dt.UTC)
            self._fixed = base + dt.timedelta(**delta)


@dataclass
class Fault:
    """One armed fault: which requests it hits and what happens to them."""

    route: str  # "METHOD /path-regex" or "*" for every route
    # "status" | "delay" | "drop" | "apply_then_drop" | "answer_late" | "malformed" | "expire_token" | vendor knobs.
    # Writes that outlive the client, as the ERPs document them (a request keeps running server-side until the
    # ERP's own operation timeout, whether or not the caller still waits): "delay" holds the request ``seconds`` and
    # then applies it (the write lands after a shorter client timeout gave up); "answer_late" applies it at once and
    # holds the answer ``seconds``; "apply_then_drop" applies it and closes the connection without an answer.
    kind: str
    times: int = 1  # how many matching requests it hits; -1 = until cleared
    after: int = 0  # let this many matching requests through first
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.route == "*":
            return True
        want_method, _, pattern = self.route.partition(" ")
        return want_method in (method, "*") and re.fullmatch(pattern, path) is not None


class FaultBook:
    """Armed faults, consumed as matching requests arrive (thread-safe)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, route: str, kind: str, **options: Any) -> Fault:
        fault = Fault(route=route, kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request (each counted once)."""
        fired: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fired.append(fault)
                if fault.times > 0 and fault.seen - fault.after >= fault.times:
                    self._faults.remove(fault)
        return fired

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"route": f.route, "kind": f.kind, "times": f.times, "seen": f.seen} for f in self._faults]


@dataclass(frozen=True)
class Received:
    """A request as it arrived (before faults and routing): what contract tests compare with the documentation."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    params: dict[str, str]  # named groups of the route pattern
    faults: list[Fault]
    clock: Clock

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body or b"null", parse_float=Decimal)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def has_fault(self, kind: str) -> Fault | None:
        return next((f for f in self.faults if f.kind == kind), None)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", self.content_type or "application/json"
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        return json.dumps(self.body, default=json_default).encode("utf-8"), self.content_type or "application/json"


def json_default(value: Any) -> Any:
    """How sandbox JSON writes what ``json`` cannot: Decimals as numbers, dates and times in ISO form."""
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


Handler = Callable[[Request], Response]


class SandboxApp:
    """Routes of one vendor plus the shared admin routes (clock, faults, vendor-specific state)."""

    def __init__(self, name: str, clock: Clock | None = None) -> None:
        self.name = name
        self.clock = clock or Clock()
        self.faults = FaultBook()
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request, for contract tests
        self.received: list[Received] = []  # the same requests with query, headers and body (contract tests)
        self.router = Router()
        self._lock = threading.Lock()
        admin = Routes(self, "/__admin")
        admin("POST", r"/faults")(self._admin_arm)
        admin("DELETE", r"/faults")(self._admin_clear)
        admin("GET", r"/faults")(lambda req: Response(body=self.faults.listing()))
        admin("POST", r"/clock")(self._admin_clock)

    def _admin_arm(self, request: Request) -> Response:
        spec = dict(request.json())
        self.faults.arm(spec.pop("route"), spec.pop("kind"), **spec)
        return Response(201, {"armed": True})

    def _admin_clear(self, request: Request) -> Response:
        self.faults.clear()
        return Response(204)

    def _admin_clock(self, request: Request) -> Response:
        now = request.json().get("now")
        self.clock.set(dt.datetime.fromisoformat(now) if now else None)
        return Response(200, {"now": self.clock.now().isoformat()})


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for the client's delayed
    # ACK of the headers (about 40 ms per keep-alive answer). Real services answer without that pause.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        path = parts.path
        prefix = self.server.prefix
        if prefix and path.lower().startswith(prefix.lower()):
            path = path[len(prefix):] or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method = self.command
        with app._lock:
            app.calls.append((method, path))
            app.received.append(Received(method, path, parse_qs(parts.query, keep_blank_values=True),
                                         {k.lower(): v for k, v in self.headers.items()}, body))
        admin = path.startswith("/__admin/")
        fired = [] if admin else app.faults.take(method, path)
        for fault in fired:
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "drop":
                self._drop()
                return
            elif fault.kind == "status":
                self._send(Response(fault.status, fault.body, dict(fault.headers)))
                return
        resolved = app.router.resolve(method, path)
        if resolved is None:
            self._send(Response(404, {"error": "no such route", "path": path}))
            return
        handler, params = resolved
        request = Request(
            method=method,
            path=path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            params=params,
            faults=fired,
            clock=app.clock,
        )
        try:
            response = handler(request)
        except Exception as exc:  # a sandbox bug must surface as a 500, like a real server's
            response = Response(500, {"error": "sandbox handler failed", "detail": repr(exc)})
        if any(f.kind == "apply_then_drop" for f in fired):
            self._drop()
            return
        late = next((f for f in fired if f.kind == "answer_late"), None)
        if late is not None:
            time.sleep(late.seconds)
        try:
            self._send(response)
        except OSError:  # the caller gave up waiting and closed the connection: the write stands all the same
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, response: Response) -> None:
        payload, content_type = response.encode()
        self.send_response(response.status)
        if response.status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp, prefix: str) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.prefix = prefix


class SandboxServer:
    """Serve one ``SandboxApp`` on 127.0.0.1 (HTTP, or HTTPS when given TLS files) in a background thread."""

    def __init__(self, app: SandboxApp, port: int = 0, tls: TlsFiles | None = None, prefix: str = "") -> None:
        self.app = app
        self._server = _Server(("127.0.0.1", port), app, prefix.rstrip("/"))
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        # A short poll interval makes stop() return in ~50 ms instead of up to 0.5 s (tests start many servers).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{self.app.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
