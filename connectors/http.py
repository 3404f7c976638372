"""The one HTTP session factory every connector and exporter uses.

Why one place: timeouts, bounded retries that honour ``Retry-After``, TLS trust (a sandbox CA in tests, the system
store in production) and request logging must be identical for every vendor. Nothing here knows a vendor.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.retry import Backoff

log = logging.getLogger("cspbill.http")

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
CORRELATION_HEADERS = ("MS-CorrelationId", "X-Correlation-ID", "x-ms-request-id", "MS-RequestId", "request-id")


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry bounds for one source (its ``retries`` and ``backoff_seconds`` in config, see
    ``services.sync.sources.source_policy``); the defaults suit the nightly job."""

    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    retry_methods: frozenset[str] = field(default_factory=lambda: frozenset({"GET", "HEAD", "OPTIONS"}))
    verify: bool | str = True  # True = system trust store; a path = a CA bundle (the sandbox CA in tests)

    def backoff(self) -> Backoff:
        """The same bounds for the retries a connector runs itself (``connectors.retry``): attempts = retries + 1."""
        return Backoff(self.retries + 1, self.backoff_factor, self.backoff_max)


class _TimeoutSession(requests.Session):
    """A session that applies the policy's timeouts to every request that does not set its own."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._default_timeout)
        if self.verify is not True:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's CA bundle unless the request
            # names it (microsoft.md §1.3): a bundle from config must win over the environment.
            kwargs.setdefault("verify", self.verify)
        return super().request(method, url, **kwargs)


def build_retry(policy: HttpPolicy, extra_methods: Iterable[str] = ()) -> Retry:
    """urllib3 ``Retry`` for GETs (and any idempotent methods the caller names), honouring ``Retry-After``."""
    return Retry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max,
        backoff_jitter=0.25,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(policy.retry_methods | set(extra_methods)),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def build_session(
    source: str, policy: HttpPolicy | None = None, extra_retry_methods: Iterable[str] = ()
) -> requests.Session:
    """A ``requests.Session`` for one source with timeouts, retries, TLS trust and request logging."""
    policy = policy or HttpPolicy()
    session = _TimeoutSession((policy.connect_timeout, policy.read_timeout))
    adapter = HTTPAdapter(max_retries=build_retry(policy, extra_retry_methods), pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = policy.verify
    session.hooks["response"].append(_log_response(source))
    return session


def _log_response(source: str):
    def hook(response: requests.Response, *args, **kwargs) -> None:
        log.info(
            "%s %s %s -> %s in %.0f ms (correlation %s)",
            source,
            response.request.method,
            response.request.path_url.split("?")[0],
            response.status_code,
            response.elapsed.total_seconds() * 1000,
            correlation_of(response),
        )

    return hook


def correlation_of(response: requests.Response) -> str:
    """The vendor's correlation id of a response (what support asks for), or ``-``."""
    return next((response.headers[h] for h in CORRELATION_HEADERS if h in response.headers), "-")


_DECIMAL_MARK = "\x00decimal:"


def dumps_json(value: Any) -> bytes:
    """JSON with every ``Decimal`` written as an exact JSON number (never through float): for request bodies."""

    def mark(item: Any) -> str:
        if isinstance(item, Decimal):
            return f"{_DECIMAL_MARK}{item}\x00"
        raise TypeError(f"not JSON serialisable: {type(item).__name__}")

    text = json.dumps(value, default=mark, ensure_ascii=False)
    return re.sub(r'"\\u0000decimal:([-+0-9.Ee]+)\\u0000"', r"\1", text).encode("utf-8")
