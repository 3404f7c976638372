"""The one HTTP session factory every connector and exporter uses.

Why one place: timeouts, bounded retries that honour ``Retry-After``, TLS trust (a sandbox CA in tests, the system
store in production) and request logging must be identical for every vendor. Nothing here knows a vendor.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.errors import AuthenticationFailed, SourceError, SourceUnavailable

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


# Bearer-token JSON reads, shared by the distributor connectors (Pax8, Ingram CMP).


@dataclass(frozen=True)
class BearerToken:
    """An access token and the monotonic instant after which we stop using it.

    Why a margin: a token used in its last minutes can expire between our check and the source's; refreshing a
    tenth of the lifetime early (at most an hour: Pax8's 24 h token is renewed at 23 h) avoids that race.
    """

    value: str
    use_until: float

    @classmethod
    def issued(cls, value: str, lifetime_seconds: float) -> BearerToken:
        margin = min(3600.0, max(0.0, lifetime_seconds) / 10)
        return cls(value, time.monotonic() + lifetime_seconds - margin)

    def fresh(self) -> bool:
        return time.monotonic() < self.use_until


def correlation_of(response: requests.Response) -> str:
    """The vendor's correlation id of a response (what support asks for), or ``-``."""
    return next((response.headers[h] for h in CORRELATION_HEADERS if h in response.headers), "-")


def read_json(source: str, response: requests.Response) -> Any:
    """Decode a response body with ``Decimal`` for every JSON number, or raise the typed error its status means.

    Why here: every connector must classify failures the same way. What reaches this point has already been through
    the session's bounded retries, so 408/429/5xx mean the source is unavailable for this run; an unreadable 200 body
    (a truncated page) is just as fatal, because a run that misses a page must fail rather than look complete.
    """
    path = response.request.path_url.split("?")[0] if response.request is not None else response.url
    where = f"{path} -> {response.status_code} (correlation {correlation_of(response)})"
    status = response.status_code
    if status in (401, 403):
        raise AuthenticationFailed(source, f"refused: {where}")
    if status in RETRY_STATUSES:
        raise SourceUnavailable(source, f"still failing after retries: {where}")
    if not 200 <= status < 300:
        raise SourceError(source, f"unexpected answer: {where}: {response.text[:300]}")
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise SourceUnavailable(source, f"unreadable JSON body: {where}: {exc}") from exc


class BearerJsonClient:
    """GETs JSON with a cached bearer token; on 401 refreshes once and repeats the request once.

    Retries of 408/429/5xx, timeouts and dropped connections happen inside the session (``build_session``); this
    class turns whatever is left into typed errors. Thread-safe, so a connector may run bounded parallel detail calls:
    concurrent 401s trigger one refresh, not one per thread.
    """

    def __init__(
        self,
        source: str,
        session: requests.Session,
        fetch_token: Callable[[], BearerToken],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.session = session
        self._fetch_token = fetch_token
        self._headers = dict(headers or {})
        self._token: BearerToken | None = None
        self._lock = threading.Lock()

    def token(self, stale: BearerToken | None = None) -> BearerToken:
        """The current token, fetched when absent, near expiry, or equal to ``stale`` (the one just refused)."""
        with self._lock:
            if self._token is None or not self._token.fresh() or self._token is stale:
                self._token = self._fetch_token()
            return self._token

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        token = self.token()
        response = self._get(url, params, token)
        if response.status_code == 401:
            response = self._get(url, params, self.token(stale=token))
        return read_json(self.source, response)

    def _get(self, url: str, params: Mapping[str, Any] | None, token: BearerToken) -> requests.Response:
        headers = {**self._headers, "Authorization": f"Bearer {token.value}", "Accept": "application/json"}
        try:
            return self.session.get(url, params=params, headers=headers)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"GET {urlsplit(url).path} failed after retries: {exc}") from exc


_DECIMAL_MARK = "\x00decimal:"


def dumps_json(value: Any) -> bytes:
    """JSON with every ``Decimal`` written as an exact JSON number (never through float): for request bodies."""

    def mark(item: Any) -> str:
        if isinstance(item, Decimal):
            return f"{_DECIMAL_MARK}{item}\x00"
        raise TypeError(f"not JSON serialisable: {type(item).__name__}")

    text = json.dumps(value, default=mark, ensure_ascii=False)
    return re.sub(r'"\\u0000decimal:([-+0-9.Ee]+)\\u0000"', r"\1", text).encode("utf-8")
