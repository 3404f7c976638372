"""The one HTTP session factory every connector and exporter uses.

Why one place: timeouts, bounded retries that honour ``Retry-After``, TLS trust (a sandbox CA in tests, the system
store in production) and request logging must be identical for every vendor. Nothing here knows a vendor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger("cspbill.http")

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
CORRELATION_HEADERS = ("MS-CorrelationId", "X-Correlation-ID", "x-ms-request-id", "MS-RequestId", "request-id")


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry bounds for one source; comes from config, defaults suit the nightly job."""

    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    retry_methods: frozenset[str] = field(default_factory=lambda: frozenset({"GET", "HEAD", "OPTIONS"}))
    verify: bool | str = True  # True = system trust store; a path = a CA bundle (the sandbox CA in tests)


class _TimeoutSession(requests.Session):
    """A session that applies the policy's timeouts to every request that does not set its own."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._default_timeout)
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
        correlation = next((response.headers[h] for h in CORRELATION_HEADERS if h in response.headers), "-")
        log.info(
            "%s %s %s -> %s in %.0f ms (correlation %s)",
            source,
            response.request.method,
            response.request.path_url.split("?")[0],
            response.status_code,
            response.elapsed.total_seconds() * 1000,
            correlation,
        )

    return hook


def retry_after_seconds(response: requests.Response, *header_names: str, default: float = 1.0) -> float:
    """Seconds to wait from the first present header among ``header_names`` (then ``Retry-After``)."""
    for name in (*header_names, "Retry-After"):
        value = response.headers.get(name)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return default


def sleep(seconds: float) -> None:
    """Indirection so a connector's waits are visible in logs; the only place connectors sleep."""
    if seconds > 0:
        log.info("waiting %.1f s before retrying", seconds)
        time.sleep(seconds)
