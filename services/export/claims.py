"""Claims on outbox rows: which run is sending a row, and whether that run is gone.

Why: a row in ``sending`` whose run crashed must be looked up and resolved by the next run, but a row a live run
holds must never be taken over (two sends of one invoice). A run id ``host:pid:token`` is live while its run is.
"""

from __future__ import annotations

import datetime as dt

from ledger.models import Export
from services.runners import gone_because
from services.runners import running as run_claim

CLAIM_TTL = dt.timedelta(minutes=30)  # a claim by a run on another host is presumed dead after this long

FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)

__all__ = ["CLAIM_TTL", "FAR_FUTURE", "orphaned", "run_claim"]


def orphaned(row: Export, now: dt.datetime) -> bool:
    """Is the run that claimed this ``sending`` row gone? Ours: gone when no longer active; another process on this
    host: gone when its pid is; another host: when the claim is older than ``CLAIM_TTL`` (``services.runners``)."""
    if not row.claimed_by:
        return True
    return gone_because(row.claimed_by, row.claimed_at, now, CLAIM_TTL) is not None
