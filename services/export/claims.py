"""Claims on outbox rows: which run is sending a row, whether that run is gone, and when to try a row again.

Why: a row in ``sending`` whose run crashed must be looked up and resolved by the next run, but a row a live run
holds must never be taken over (two sends of one invoice). A run id ``host:pid:token`` is live while its run is.
Shared by the ERP export outbox and the delivery outbox (``services.delivery``): both claim rows the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from services.runners import gone_because
from services.runners import running as run_claim

CLAIM_TTL = dt.timedelta(minutes=30)  # a claim by a run on another host is presumed dead after this long

FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)

BACKOFF_BASE = dt.timedelta(minutes=2)
BACKOFF_CAP = dt.timedelta(hours=6)

__all__ = ["CLAIM_TTL", "FAR_FUTURE", "backoff", "orphaned", "run_claim"]


class Claimed(Protocol):
    """An outbox row (``Export``, ``Delivery``): who claimed it and when."""

    claimed_by: str | None
    claimed_at: dt.datetime | None


def orphaned(row: Claimed, now: dt.datetime) -> bool:
    """Is the run that claimed this ``sending`` row gone? Ours: gone when no longer active; another process on this
    host: gone when its pid is; another host: when the claim is older than ``CLAIM_TTL`` (``services.runners``)."""
    if not row.claimed_by:
        return True
    return gone_because(row.claimed_by, row.claimed_at, now, CLAIM_TTL) is not None


def backoff(attempts: int, hint: float | None = None) -> dt.timedelta:
    """How long a row waits after its ``attempts``-th failed attempt: doubling from two minutes, at most six hours,
    never shorter than the other side's ``Retry-After`` (``hint``, seconds)."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return max(delay, dt.timedelta(seconds=hint or 0))
