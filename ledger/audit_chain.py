"""The audit trail as hash chains, one per legal entity (and one global chain for events without a tenant).

Why: an audit row that a database owner can quietly rewrite proves nothing. Each event stores a SHA-256 over its
content and the previous event's hash, so changing, removing or reordering any event breaks every link after it,
and ``check`` names the first broken one. Pure functions: the repository appends with them, the migration chains
existing events with them, and ``cspbill audit verify`` walks the chains with them.

The hash is taken over a canonical text (sorted keys, no whitespace, instants as UTC ISO 8601 with microseconds),
of the values as the database hands them back, so SQLite and PostgreSQL give the same hash for the same event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

GLOBAL_CHAIN = "global"
GENESIS = "0" * 64  # the "previous hash" of a chain's first event


def chain_of(tenant_id: int | None) -> str:
    """The chain an event of ``tenant_id`` belongs to (``global`` without a tenant)."""
    return GLOBAL_CHAIN if tenant_id is None else f"tenant:{tenant_id}"


def canonical_text(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only; decimals, dates and anything else not JSON as their text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def plain(value: Any) -> Any:
    """``value`` as the JSON it will be stored as (a ``Decimal`` becomes its text): what is stored is what is
    hashed, and a later change by the caller to its own dict changes neither."""
    return None if value is None else json.loads(canonical_text(value))


def instant_text(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: audit instants must be timezone-aware (UTC)")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Event(Protocol):
    """What a chained event carries (the ``AuditEvent`` model, or a row read with the same columns)."""

    id: int
    actor: str
    action: str
    tenant_id: int | None
    entity: str
    entity_id: str | None
    before: Any
    after: Any
    detail: str | None
    at: dt.datetime
    recorded_at: dt.datetime
    chain: str
    seq: int
    prev_hash: str
    hash: str


def event_hash(event: Event, prev_hash: str) -> str:
    """SHA-256 (hex) over the event's content, its place in the chain and the previous event's hash."""
    content = {
        "actor": event.actor, "action": event.action, "tenant_id": event.tenant_id, "entity": event.entity,
        "entity_id": event.entity_id, "before": event.before, "after": event.after, "detail": event.detail,
        "at": instant_text(event.at), "recorded_at": instant_text(event.recorded_at), "chain": event.chain,
        "seq": event.seq, "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_text(content).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: where, and what is wrong, in words."""

    seq: int
    event_id: int | None
    problem: str


@dataclass(frozen=True)
class ChainCheck:
    chain: str
    events: int
    head_hash: str | None
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def check(chain: str, events: Iterable[Event], head_seq: int | None, head_hash: str | None) -> ChainCheck:
    """Walk ``events`` (in seq order) and find the first broken link.

    ``head_seq`` / ``head_hash`` are the chain's head row (``None``: no head row): it catches events removed from
    the end, which no later link could reveal.
    """
    expected, prev, count = 1, GENESIS, 0
    for event in events:
        count += 1
        if event.chain != chain:
            return ChainCheck(chain, count, None, Break(event.seq, event.id, f"event is filed under chain "
                                                                             f"{event.chain!r}"))
        if event.seq != expected:
            what = (f"seq {expected}..{event.seq - 1} missing (event deleted?)" if event.seq > expected
                    else f"seq {event.seq} repeated or out of order (expected {expected})")
            return ChainCheck(chain, count, None, Break(event.seq, event.id, what))
        if event.hash != event_hash(event, event.prev_hash):
            return ChainCheck(chain, count, None, Break(event.seq, event.id, "content changed since it was recorded "
                                                                             "(its hash no longer matches)"))
        if event.prev_hash != prev:
            return ChainCheck(chain, count, None, Break(event.seq, event.id, "previous hash does not match the hash of "
                                                                             f"seq {event.seq - 1}"))
        expected, prev = expected + 1, event.hash
    last = expected - 1
    if head_seq is None and last:
        return ChainCheck(chain, count, None, Break(last, None, "the chain's head row is missing"))
    if head_seq is not None and head_seq != last:
        what = (f"seq {last + 1}..{head_seq} missing at the end (events deleted?)" if head_seq > last
                else f"the head row says seq {head_seq}, but events run to seq {last}")
        return ChainCheck(chain, count, None, Break(last + 1, None, what))
    if head_hash is not None and last and head_hash != prev:
        return ChainCheck(chain, count, None, Break(last, None, "the head row's hash does not match the last event"))
    return ChainCheck(chain, count, prev if last else None, None)
