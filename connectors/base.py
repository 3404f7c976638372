"""What every vendor connector shares: its session, bearer auth, typed errors, paging and record mapping.

Why a base: Pax8, Ingram Micro and Partner Center each built a session from the ``HttpPolicy``, sent bearer requests
that renew the token once on 401, turned final answers into the same typed errors (``connectors.errors``), walked
pages until the vendor said the listing was complete, and collected one ``MalformedRecord`` per unmappable record
while the others came through. That behaviour lives here once; a vendor module keeps its own rules: field names, the
token endpoint, how a page names the next one, which statuses mean "unavailable" and how its errors read.

Why a run fails rather than looks complete (distributors.md §6.2): what reaches the typed errors has already been
through the session's bounded retries, so 408/429/5xx mean the source is unavailable for this run, and an unreadable
200 body (a truncated page) is just as fatal: a run that misses a page must never look like cancelled seats.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from connectors.auth import Bearer, send_with_bearer
from connectors.errors import AuthenticationFailed, MalformedRecord, SourceError, SourceUnavailable
from connectors.http import RETRY_STATUSES, HttpPolicy, build_session, correlation_of
from connectors.json_body import load_json
from connectors.records import FieldReader

log = logging.getLogger("cspbill.connectors")

MAX_PAGES = 10_000
T = TypeVar("T")
Verdict = Literal["refused", "unavailable", "failed", "unreadable"]


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


class CachedToken:
    """A vendor token endpoint's bearer token (Pax8, Ingram), fetched on first use and reused while fresh.

    Thread-safe, so a connector may run bounded parallel detail calls: concurrent 401s for the same token trigger one
    renewal, not one per thread.
    """

    def __init__(self, source: str, fetch: Callable[[], BearerToken]) -> None:
        self.source = source
        self._fetch = fetch
        self._token: BearerToken | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        return self._current(None)

    def renew(self, stale: str) -> str:
        """A new token unless another thread already replaced ``stale`` (the one just refused)."""
        return self._current(stale)

    def _current(self, stale: str | None) -> str:
        with self._lock:
            if self._token is None or not self._token.fresh() or self._token.value == stale:
                self._token = self._fetch()
            return self._token.value


@dataclass(frozen=True)
class PageRequest:
    """Where one page of a listing is read: URL, query and the headers a continuation needs."""

    url: str
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> str:
        return f"{self.url}|{sorted((self.params or {}).items())}|{sorted(self.headers.items())}"


PageReader = Callable[[Any, int, int], tuple[list[Any], PageRequest | None]]


def _record_id(item: Any, index: int, kind: str = "", id_field: str | None = "id") -> str:
    """The record's own id when it has one, else its position, so a report always names something findable."""
    value = item.get(id_field) if id_field and isinstance(item, dict) else None
    return str(value) if value not in (None, "") else f"{kind} #{index}".lstrip()


class VendorConnector:
    """One vendor account over HTTP: a session, bearer requests, typed errors, complete listings, mapped records.

    ``tokens`` is a ``TokenProvider`` (Entra) or a ``CachedToken`` over the vendor's token endpoint; ``headers`` go on
    every bearer request. ``retry_posts`` lets the session retry POSTs too: only for adapters whose POSTs are safe to
    repeat (a token request, starting an export). ``ca_bundle`` (a PEM path) overrides the policy's trust store.
    """

    def __init__(
        self,
        source: str,
        tokens: Bearer,
        policy: HttpPolicy | None = None,
        *,
        ca_bundle: str | None = None,
        retry_posts: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        policy = policy or HttpPolicy()
        if ca_bundle:
            policy = dataclasses.replace(policy, verify=ca_bundle)
        self.source = source
        self.tokens = tokens
        self.policy = policy
        self.session: requests.Session = build_session(source, policy, ("POST",) if retry_posts else ())
        self._writes: requests.Session | None = None
        self._headers = dict(headers or {})

    def close(self) -> None:
        """Release the pooled connections (the nightly job opens one connector per source and run)."""
        self.session.close()
        if self._writes is not None:
            self._writes.close()

    # --- vendor rules (override where a vendor differs) ------------------------------------------------------

    def _succeeded(self, status: int) -> bool:
        return 200 <= status < 300

    def _unavailable(self, status: int) -> bool:
        """A final answer meaning "try another night": the session already retried it."""
        return status in RETRY_STATUSES

    def _describe(
        self, verdict: Verdict, response: requests.Response, what: str, error: Exception | None = None
    ) -> str:
        """The error message for ``verdict`` on ``response`` (``what`` is e.g. ``GET /v1/customers``; ``error`` is
        what made a body unreadable)."""
        path = response.request.path_url.split("?")[0] if response.request is not None else response.url
        where = f"{path} -> {response.status_code} (correlation {correlation_of(response)})"
        if verdict == "refused":
            return f"refused: {where}"
        if verdict == "unavailable":
            return f"still failing after retries: {where}"
        if verdict == "unreadable":
            return f"unreadable JSON body: {where}: {error}"
        return f"unexpected answer: {where}: {response.text[:300]}"

    # --- HTTP ------------------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One bearer request (the token renewed once on 401); a transport failure left after the session's retries
        is ``SourceUnavailable``."""
        headers = {"Accept": "application/json", **self._headers, **(kwargs.pop("headers", None) or {})}
        try:
            return send_with_bearer(self.session, self.tokens, method, url, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"{method} {urlsplit(url).path} failed after retries: {exc}") from exc

    def _write_once(self, method: str, url: str, body: Any) -> requests.Response:
        """Send one write that nothing repeats on its own (not even a session whose POSTs are retried): an answer
        lost after sending may mean the write landed, so the caller looks the result up before writing again. A
        transport failure is ``SourceUnavailable``."""
        if self._writes is None:
            self._writes = build_session(self.source, self.policy)
        headers = {"Accept": "application/json", **self._headers}
        try:
            return send_with_bearer(self._writes, self.tokens, method, url, json=body, headers=headers)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"{method} {urlsplit(url).path}: no answer ({exc}); the write may "
                                                 "have landed") from exc

    def _check(self, response: requests.Response, what: str | None = None) -> None:
        """Raise the typed error a final (post-retry) answer means; return quietly on success."""
        status = response.status_code
        if self._succeeded(status):
            return
        what = what or _what(response)
        if status in (401, 403):
            raise AuthenticationFailed(self.source, self._describe("refused", response, what))
        if self._unavailable(status):
            raise SourceUnavailable(self.source, self._describe("unavailable", response, what))
        raise SourceError(self.source, self._describe("failed", response, what))

    def _json(self, response: requests.Response, what: str | None = None) -> Any:
        """The checked answer's body with ``Decimal`` for every JSON number; unreadable is ``SourceUnavailable``."""
        self._check(response, what)
        try:
            return load_json(response.content)
        except ValueError as exc:
            raise SourceUnavailable(self.source, self._describe("unreadable", response, what or _what(response), exc)
                                    ) from exc

    def _get_json(self, page: PageRequest) -> Any:
        """GET one page (or one object) as JSON."""
        return self._json(self._send("GET", page.url, params=page.params, headers=dict(page.headers)))

    def _token_answer(self, url: str, refusal: Callable[[requests.Response], str], **kwargs: Any) -> Any:
        """POST to a vendor's token endpoint; ``refusal`` words a 400/401/403 (never echoing what we sent)."""
        try:
            response = self.session.post(url, **kwargs)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"token request failed after retries: {exc}") from exc
        if response.status_code in (400, 401, 403):
            raise AuthenticationFailed(self.source, f"token refused {refusal(response)}")
        return self._json(response)

    # --- listings and records --------------------------------------------------------------------------------

    def _pages(self, path: str, first: PageRequest, read: PageReader) -> Iterator[Any]:
        """Every item of a listing. ``read(body, page number, items before this page)`` checks one page (raising
        when it is incomplete) and returns its items and the next page's request, or ``None`` after the last."""
        request, seen, count = first, set(), 0
        for number in range(MAX_PAGES):
            items, following = read(self._get_json(request), number, count)
            count += len(items)
            yield from items
            if following is None:
                log.info("%s: %s read in %d page(s)", self.source, path, number + 1)
                return
            if following.key() in seen:  # a server handing back the same continuation would loop forever
                raise SourceUnavailable(self.source, f"{path}: page {number + 1} repeats an earlier continuation token")
            seen.add(following.key())
            request = following
        raise SourceUnavailable(self.source, f"{path}: more than {MAX_PAGES} pages")

    def _map(
        self, items: Iterable[Any], mapper: Callable[[FieldReader], T], kind: str = "", id_field: str | None = "id"
    ) -> tuple[list[T], list[MalformedRecord]]:
        """Map every item; an unmappable one becomes a ``MalformedRecord`` and the others still come through."""
        records: list[T] = []
        errors: list[MalformedRecord] = []
        for index, item in enumerate(items):
            try:
                records.append(mapper(FieldReader(self.source, _record_id(item, index, kind, id_field), item)))
            except MalformedRecord as bad:
                log.warning("%s", bad)
                errors.append(bad)
        return records, errors


def _what(response: requests.Response) -> str:
    request = response.request
    return f"{request.method} {urlsplit(request.url or '').path}" if request is not None else response.url
