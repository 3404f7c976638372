"""The contract every ERP adapter fulfils, its typed errors, and the search-then-create protocol built on it.

Why this shape (erp.md §5): none of the ERPs enforces uniqueness of our external reference, and a request that got no
answer may still have been applied. So an adapter never retries a create blindly; it offers ``find`` by external
reference, and :func:`export_document` looks the key up before every create and after every unknown outcome. Retries
are bounded and happen here (``connectors.retry``, bounded by ``RetryPolicy``), honouring the ERP's ``Retry-After``;
transports retry nothing that writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import requests
from tenacity import RetryCallState, retry_if_exception

from connectors.retry import Backoff, failure
from erp_export.documents import DocumentType, InvoiceDocument

Plan = Literal["create", "update", "skip"]
Action = Literal["created", "updated", "adopted", "posted", "skipped"]


class ErpError(Exception):
    """Base of everything an adapter raises on purpose; ``target`` names the ERP (``bc_soap``, ``exact_online``…)."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(f"{target}: {message}")
        self.target = target
        self.message = message


class ErpRejected(ErpError):
    """Permanent: the ERP refused the document (unknown customer, validation). Retrying the same payload is useless;
    ``erp_message`` is the ERP's own text for the desk."""

    def __init__(self, target: str, erp_message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(target, f"rejected ({code or status or 'fault'}): {erp_message}")
        self.erp_message = erp_message
        self.code = code
        self.status = status


class ErpAuthenticationFailed(ErpRejected):
    """Credentials refused (wrong key, revoked app, consumed refresh token): a human must act."""


class ErpReconnectRequired(ErpAuthenticationFailed):
    """The person's consent behind the connection is spent (Exact's "Old refresh token used", a refresh whose answer
    was lost): nothing is wrong with the document, a person must connect again, and the export waits queued."""


class ErpUnavailable(ErpError):
    """Retryable: throttled (429), 5xx, connection refused, or a read timed out. Nothing was written, or the call
    was a read; ``retry_after`` is the ERP's hint in seconds when it gave one."""

    def __init__(self, target: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(target, message)
        self.retry_after = retry_after


class ErpConflict(ErpUnavailable):
    """The document changed under us (stale SOAP ``Key``, 409/412 ETag): re-read and re-apply."""


class ErpOutcomeUnknown(ErpError):
    """A write was sent and no answer came (timeout, dropped connection): the caller must ``find`` before retrying."""


class ErpWriteMayLand(ErpOutcomeUnknown):
    """A look-up after an unknown outcome found nothing, but it came too early to prove anything: the ERP may still be
    running the write it never answered. ``since`` (epoch seconds) is when that write's outcome became unknown,
    ``wait`` how many seconds remain until a look-up that finds nothing proves the write will never land."""

    def __init__(self, target: str, since: float, wait: float) -> None:
        super().__init__(target, f"not found yet; an unanswered write may still land for {wait:.0f} s")
        self.since = since
        self.wait = wait


def transport_failure(target: str, exc: requests.RequestException, *, write: bool) -> ErpError:
    """Map a transport exception: a write that may have reached the ERP is an unknown outcome, never a plain retry.

    Only a failure to connect proves nothing was sent; a read timeout or a dropped connection after sending may
    follow a committed write.
    """
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc)
    ):
        return ErpUnavailable(target, f"cannot connect: {type(exc).__name__}")
    if write:
        return ErpOutcomeUnknown(target, f"no answer to a write ({type(exc).__name__}): look it up before retrying")
    return ErpUnavailable(target, f"no answer ({type(exc).__name__})")


def vat_key(category: str, rate: Decimal) -> str:
    """The key of a VAT code mapping in adapter config: ``"S:21"``, ``"AE:0"``, ``"S:5.5"``."""
    return f"{category}:{format(rate.normalize(), 'f')}"


@dataclass(frozen=True)
class ErpDocumentRef:
    """What the ERP holds for one of our documents: its id, number, state, version token and its own totals."""

    erp_id: str
    external_ref: str
    number: str | None
    status: Literal["draft", "posted"]
    version: str | None = None  # SOAP Key or OData ETag: what the next update must send
    line_count: int = 0
    total_net: Decimal | None = None
    total_vat: Decimal | None = None
    total_gross: Decimal | None = None
    type_code: DocumentType = "380"  # which kind of ERP document holds it: invoice, or credit memo / credit note

    def matches(self, doc: InvoiceDocument) -> bool:
        """Does the ERP's copy carry our lines and our net total? (VAT is the ERP's computation: compared apart.)"""
        return self.line_count == len(doc.lines) and self.total_net == doc.total_net

    def totals_differ(self, doc: InvoiceDocument) -> list[str]:
        """Which of the ERP's totals disagree with ours (billing-rules §6: flag, never silently accept)."""
        pairs = (("total_net", self.total_net, doc.total_net), ("total_vat", self.total_vat, doc.total_vat),
                 ("total_gross", self.total_gross, doc.total_gross))
        return [f"{name}: ERP {erp} != cspbill {ours}" for name, erp, ours in pairs if erp is not None and erp != ours]


@runtime_checkable
class ErpExporter(Protocol):
    """One ERP target. Every method raises only ``ErpError`` subclasses."""

    target: str
    supports_update: bool

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        """Look the document up by our external reference among the ERP's documents of ``type_code`` (invoices or
        credit memos); ``None`` when absent. A read: safe to retry."""

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        """Create the document (header and lines atomically where the protocol allows). Never retried blindly."""

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """Bring a draft in line with ``doc`` (complete a partial draft, replace changed lines)."""

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        """Post (book) a draft; callers check ``ref.status`` first because posting twice fails in every ERP."""

    def plan(self, doc: InvoiceDocument) -> Plan:
        """What an export would do, for ``--dry-run``: reads only, nothing written."""


@runtime_checkable
class ErpSweeping(Protocol):
    """What the duplicate sweep needs of an ERP besides ``ErpExporter``: every document carrying one external
    reference (a duplicate is more than one), and deleting a draft never posted (a posted one is only reported)."""

    target: str

    def find_all(self, external_ref: str, type_code: DocumentType = "380") -> list[ErpDocumentRef]:
        """Every document of ``type_code`` carrying ``external_ref``; a read."""

    def delete_draft(self, ref: ErpDocumentRef) -> None:
        """Delete a draft (``ErpRejected`` for a posted document or when the ERP refuses)."""


class Planning:
    """``plan`` for every adapter, from its own ``find`` and ``supports_update``."""

    def plan(self: ErpExporter, doc: InvoiceDocument) -> Plan:  # type: ignore[misc]
        """What an export would do, for ``--dry-run``: reads only, nothing written."""
        return decide(self, self.find(doc.external_ref, doc.type_code), doc)


def decide(exporter: ErpExporter, found: ErpDocumentRef | None, doc: InvoiceDocument) -> Plan:
    if found is None:
        return "create"
    if found.status == "posted" or found.matches(doc) or not exporter.supports_update:
        return "skip"
    return "update"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of our own retries: attempts per document and the longest single wait we accept from the ERP."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # An unknown outcome may be a write the ERP is still applying (a timed-out request keeps running server-side):
    # wait ``settle`` seconds before the look-up, or, with resolve_unknown_now=False, hand the ErpOutcomeUnknown to
    # the caller (the outbox records it and looks up on its next scheduled run, long after any server timeout).
    settle: float = 5.0
    resolve_unknown_now: bool = True
    # The ERP's longest possible request in seconds: after an unknown outcome, a look-up that finds nothing proves the
    # write will never land only when it starts this long after the outcome became unknown. Until then nothing is
    # created again (ErpWriteMayLand); a wait up to ``max_delay`` is slept in-run, a longer one is the caller's.
    unknown_bound: float = 0.0

    @property
    def backoff(self) -> Backoff:
        """These bounds for ``connectors.retry``: the ERP's ``Retry-After`` is honoured up to ``max_delay``."""
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        return Backoff(self.attempts, self.base_delay, self.max_delay, cap_hints=True)


@dataclass(frozen=True)
class ExportResult:
    ref: ErpDocumentRef
    action: Action
    attempts: int


def export_document(exporter: ErpExporter, doc: InvoiceDocument, *, post: bool = False,
                    policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                    unknown_since: float | None = None, clock: Callable[[], float] = time.time) -> ExportResult:
    """Search-then-create (erp.md §5 rule 3) with bounded retries: the same document ends up in the ERP exactly once.

    Every attempt starts with ``find``: found and complete → adopt; found and partial or changed draft → update;
    absent → create. Unknown outcomes and retryable errors loop back to ``find``; ``ErpRejected`` propagates at once.
    After an unknown outcome (in this call, or ``unknown_since``, epoch seconds, from an earlier run) "absent" means
    "create" only for a look-up that started ``policy.unknown_bound`` seconds after it; an earlier one raises
    ``ErpWriteMayLand``.
    """
    policy = policy or RetryPolicy()
    backoff = policy.backoff
    unknown = unknown_since is not None
    unknown_at = unknown_since

    def attempt(number: int) -> ExportResult:
        nonlocal unknown, unknown_at
        try:
            started = clock()
            found = exporter.find(doc.external_ref, doc.type_code)
            step = decide(exporter, found, doc)
            if found is None and unknown_at is not None and started < unknown_at + policy.unknown_bound:
                raise ErpWriteMayLand(exporter.target, unknown_at, unknown_at + policy.unknown_bound - started)
            if found is None:
                ref, action = exporter.create(doc), "created"
            elif step == "update":
                ref, action = exporter.update(found, doc), "updated"
            else:
                ref, action = found, "adopted" if unknown else "skipped"
            if post and ref.status != "posted":
                ref = exporter.post(ref)
                action = "posted" if ref.status == "posted" else action  # Exact books entries on create
            return ExportResult(ref, action, number)  # type: ignore[arg-type]
        except ErpWriteMayLand:
            raise
        except ErpOutcomeUnknown:
            unknown, unknown_at = True, clock()
            raise

    def retryable(exc: BaseException) -> bool:
        """A write with no answer is never sent again blindly: the next attempt looks it up first."""
        if isinstance(exc, ErpWriteMayLand):
            return policy.resolve_unknown_now and exc.wait <= policy.max_delay
        return isinstance(exc, ErpUnavailable) or (isinstance(exc, ErpOutcomeUnknown) and policy.resolve_unknown_now)

    def wait(state: RetryCallState) -> float:
        exc = failure(state)
        if isinstance(exc, ErpWriteMayLand):
            return exc.wait
        if isinstance(exc, ErpOutcomeUnknown):
            return policy.settle
        return backoff.delay(state.attempt_number, getattr(exc, "retry_after", None))

    return backoff.run(attempt, retry_if_exception(retryable), wait=wait, sleep=sleep)


class TokenBucket:
    """Client-side pacing per target (erp.md §5 rule 8): ``capacity`` calls, refilled at ``capacity / period`` per
    second. Keeps us under the ERP's limit instead of learning it from 429s.

    ``headroom`` (seconds of refill) is kept in the bucket: our clock starts before the server sees the request and
    network jitter can make the server's elapsed time a little shorter than ours, so a bucket drained to exactly zero
    would earn an occasional 429. The headroom is a one-off reserve, not a lower rate.
    """

    def __init__(self, capacity: int, period: float, clock: Callable[[], float] = time.monotonic,
                 headroom: float = 0.25) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.reserve = min(headroom * self.rate, self.capacity / 10)
        self._tokens = float(capacity)
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self, n: int = 1, sleep: Callable[[float], None] = time.sleep) -> None:
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity:.0f}")
        need = min(self.capacity, n + self.reserve)
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= need:
                    self._tokens -= n
                    return
                wait = (need - self._tokens) / self.rate
            sleep(wait)

    def drain(self) -> None:
        """The ERP said 429: assume the server's bucket is empty so we stop bursting."""
        with self._lock:
            self._tokens = 0.0
            self._stamp = self._clock()
