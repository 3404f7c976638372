"""The one retry mechanism of the vendor connectors and ERP exporters: tenacity, with bounds set per adapter.

Why one place: a vendor connector retries a page whose body was cut off, a PATCH whose answer was lost and an SDK call
that was throttled; an ERP exporter retries a whole search-then-create. They differ in what is retryable and which
headers carry the server's wait, not in how a retry runs: a bounded number of attempts, the server's hint when it gave
one (``Retry-After``, or a vendor's own header), exponential backoff from ``base`` up to ``cap`` otherwise, and a
logged wait. ``Backoff.run`` is that tenacity loop; each adapter supplies only its own rules.

Idempotent requests are also retried one level lower, inside the session (urllib3 ``Retry`` in ``connectors.http``,
bounded by the same ``HttpPolicy``); what is retried here is what a transport cannot judge.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity
from tenacity import RetryCallState

log = logging.getLogger("cspbill.retry")

RETRY_AFTER = ("Retry-After",)
T = TypeVar("T")


def sleep(seconds: float) -> None:
    """The one place adapters wait before a retry, so every wait shows in the log."""
    if seconds > 0:
        log.info("waiting %.1f s before retrying", seconds)
        time.sleep(seconds)


def retry_after(headers: Mapping[str, str] | None, names: Iterable[str] = RETRY_AFTER) -> float | None:
    """Seconds the server asks us to wait: the longest among the named headers that are present and readable.

    Names match in any case (answers inside a ``$batch`` carry plain dicts); several throttling headers may disagree,
    so the strictest wins. A value that is not a finite number of seconds (an HTTP date, ``inf``) is no hint.
    """
    if not headers:
        return None
    wanted = {name.lower() for name in names}
    waits = []
    for name, value in headers.items():
        if name.lower() not in wanted:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds):
            waits.append(max(0.0, seconds))
    return max(waits) if waits else None


def failure(state: RetryCallState) -> BaseException | None:
    """The exception the attempt just raised, or ``None`` when it returned."""
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


def answer(state: RetryCallState) -> Any:
    """What the attempt just returned (``None`` when it raised)."""
    outcome = state.outcome
    return outcome.result() if outcome is not None and not outcome.failed else None


def give_up(state: RetryCallState) -> Any:
    """After the last attempt: raise what it raised, or hand back what it returned."""
    return state.outcome.result() if state.outcome is not None else None


@dataclass(frozen=True)
class Backoff:
    """One adapter's retry bounds: how many attempts in all, and how long to wait after each failed one.

    ``cap_hints``: an ERP's hint longer than ``cap`` is cut to ``cap`` (the outbox retries later anyway); a vendor's
    hint is honoured as given, because asking again early only earns another 429.
    """

    attempts: int
    base: float
    cap: float
    cap_hints: bool = False

    def delay(self, failures: int, hint: float | None = None) -> float:
        """The wait after the ``failures``-th failed attempt (counting from 1), given the server's ``hint``."""
        if hint is not None:
            return min(self.cap, hint) if self.cap_hints else hint
        return min(self.cap, self.base * 2 ** (failures - 1))

    def run(
        self,
        attempt: Callable[[int], T],
        retry: tenacity.retry_base,
        *,
        hint: Callable[[RetryCallState], float | None] = lambda state: None,
        wait: Callable[[RetryCallState], float] | None = None,
        exhausted: Callable[[RetryCallState], Any] = give_up,
        sleep: Callable[[float], None] = sleep,
    ) -> T:
        """``attempt(n)`` for n = 1, 2, … while ``retry`` judges its outcome retryable, at most ``attempts`` times.

        Between attempts it waits ``wait`` (default: the server's ``hint`` for this outcome, else backoff).
        ``exhausted`` decides what the caller gets after the last attempt (default: that attempt's outcome itself).
        """
        numbers = itertools.count(1)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=wait or (lambda state: self.delay(state.attempt_number, hint(state))),
            retry=retry,
            retry_error_callback=exhausted,
            sleep=sleep,
        )
        return retrying(lambda: attempt(next(numbers)))
