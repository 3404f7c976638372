"""A one-shot HTTP listener on the loopback redirect URI: where the browser lands after a person consents in Exact.

Why: a desktop OAuth client receives the authorisation code by listening on 127.0.0.1 (RFC 8252 §7.3). It answers
exactly one request on the redirect URI's path, shows the person a line to close the window, and hands the query
back; anything else gets 404. It never leaves loopback.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and parts.port is not None


@contextlib.contextmanager
def callback_listener(redirect_uri: str) -> Iterator[Callable[[float], dict[str, str] | None]]:
    """Listen on ``redirect_uri`` (before the link is shown, so the browser never finds nobody home); yields a wait
    for the query of the first request to its path, ``None`` after the given seconds."""
    parts = urlsplit(redirect_uri)
    received: dict[str, str] = {}
    done = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = urlsplit(self.path)
            if target.path != parts.path or done.is_set():
                self.send_error(404)
                return
            received.update({k: v[0] for k, v in parse_qs(target.query).items()})
            body = b"<!doctype html><p>cspbill: received. You can close this window.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

        def log_message(self, format: str, *args: object) -> None:
            return  # the query holds the code: never log it

    server = HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Callback)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield lambda timeout: received if done.wait(timeout) else None
    finally:
        server.shutdown()
        server.server_close()
