"""``ledger.audit_chain.check``: each way a chain can be broken is named, at the first broken link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from ledger.audit_chain import GENESIS, check, event_hash

AT = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Row:
    id: int
    seq: int
    after: Any
    chain: str = "tenant:1"
    actor: str = "finn"
    action: str = "batch.build"
    tenant_id: int | None = 1
    entity: str = "batch"
    entity_id: str | None = "1"
    before: Any = None
    detail: str | None = None
    at: dt.datetime = AT
    recorded_at: dt.datetime = AT
    prev_hash: str = ""
    hash: str = ""


def chain(length: int = 5) -> list[Row]:
    rows, prev = [], GENESIS
    for n in range(1, length + 1):
        row = Row(id=100 + n, seq=n, after={"net": f"{n}.50"}, prev_hash=prev)
        row = replace(row, hash=event_hash(row, prev))
        rows.append(row)
        prev = row.hash
    return rows


def rehashed(row: Row, **changes: Any) -> Row:
    """``row`` changed and its own hash recomputed: a careful forger."""
    changed = replace(row, **changes)
    return replace(changed, hash=event_hash(changed, changed.prev_hash))


Tamper = Callable[[list[Row]], tuple[list[Row], int]]  # -> (rows, head seq)

CASES: dict[str, tuple[Tamper, int, int | None, str]] = {
    "after JSON edited": (lambda r: ([*r[:2], replace(r[2], after={"net": "999"}), *r[3:]], 5), 3, 103,
                          "content changed"),
    "actor edited": (lambda r: ([replace(r[0], actor="anna"), *r[1:]], 5), 1, 101, "content changed"),
    "edited and rehashed": (lambda r: ([*r[:2], rehashed(r[2], after={}), *r[3:]], 5), 4, 104,
                            "previous hash does not match"),
    "middle event deleted": (lambda r: ([*r[:2], *r[3:]], 5), 4, 104, "seq 3..3 missing"),
    "last events deleted": (lambda r: (r[:3], 5), 4, None, "seq 4..5 missing at the end"),
    "two events' seqs swapped": (lambda r: ([r[0], replace(r[2], seq=2), replace(r[1], seq=3), *r[3:]], 5), 2, 103,
                                 "content changed"),
    "seq repeated": (lambda r: ([*r[:2], replace(r[2], seq=2), *r[3:]], 5), 2, 103, "seq 2 repeated or out of order"),
    "moved to another chain": (lambda r: ([r[0], replace(r[1], chain="tenant:2"), *r[2:]], 5), 2, 102,
                               "filed under chain 'tenant:2'"),
    "head row removed": (lambda r: (r, 0), 5, None, "head row is missing"),
}


@pytest.mark.parametrize("case", CASES)
def test_first_broken_link_is_named(case: str) -> None:
    tamper, seq, event_id, problem = CASES[case]
    rows, head_seq = tamper(chain())
    head_hash = chain()[-1].hash if head_seq else None
    result = check("tenant:1", rows, head_seq or None, head_hash)
    assert not result.intact
    assert (result.broken.seq, result.broken.event_id) == (seq, event_id)
    assert problem in result.broken.problem


def test_an_untouched_chain_is_intact_and_reports_its_head() -> None:
    rows = chain()
    result = check("tenant:1", rows, 5, rows[-1].hash)
    assert result.intact and result.events == 5 and result.head_hash == rows[-1].hash
    assert check("tenant:1", [], None, None).intact  # a legal entity without events
