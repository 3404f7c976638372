"""A shard of one legal entity's customers: the unit a partitioned month-end build reads and rates on its own.

Why ranges of ledger ids: a range is one indexed ``BETWEEN`` in every query (subscriptions, snapshots, mutations,
cost lines, usage rows, billed lines), and consecutive ranges that start unbounded and end unbounded cover every
id exactly once, so a record lands in one shard whatever the split. Records that name no customer at all (a usage
row or cost line the sync could not match) belong to the shard with ``orphans``: the first one, so they are
reported once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, true


@dataclass(frozen=True, slots=True)
class Shard:
    """Customers with ledger ids ``first``..``last`` (inclusive; ``None``: unbounded), and with ``orphans`` the
    records that name no customer."""

    first: int | None = None
    last: int | None = None
    orphans: bool = True

    @property
    def whole(self) -> bool:
        return self.first is None and self.last is None and self.orphans

    def holds(self, customer_id: int | None) -> bool:
        if customer_id is None:
            return self.orphans
        return (self.first is None or customer_id >= self.first) and (self.last is None or customer_id <= self.last)

    def where(self, column: ColumnElement) -> ColumnElement[bool]:
        """The SQL condition "``column`` (a customer id) is in this shard"."""
        if self.whole:
            return true()
        bounds = []
        if self.first is not None:
            bounds.append(column >= self.first)
        if self.last is not None:
            bounds.append(column <= self.last)
        inside = and_(column.is_not(None), *bounds)
        return or_(inside, column.is_(None)) if self.orphans else inside

    def duckdb(self, expression: str) -> str:
        """The same condition in DuckDB SQL over a text ``expression`` holding the customer id (bounds are ours:
        integers, so they are written in the statement)."""
        if self.whole:
            return "TRUE"
        value = f"TRY_CAST({expression} AS BIGINT)"
        bounds = [f"{value} >= {int(self.first)}"] if self.first is not None else []
        bounds += [f"{value} <= {int(self.last)}"] if self.last is not None else []
        inside = " AND ".join([f"{value} IS NOT NULL", *bounds])
        return f"(({inside}) OR {value} IS NULL)" if self.orphans else f"({inside})"

    def describe(self) -> str:
        low = "…" if self.first is None else str(self.first)
        high = "…" if self.last is None else str(self.last)
        return f"customers {low}–{high}" + (" and records without one" if self.orphans else "")


WHOLE = Shard()


def split(customer_ids: Sequence[int], parts: int, last_round: int = 0) -> list[Shard]:
    """``parts`` shards (fewer when there are fewer customers) of about as many customers each; together they hold
    every id, also ids not in ``customer_ids`` (a customer added since they were read), and the orphans.

    ``last_round``: the last that many shards hold half as many customers as the others. Why: workers take the shards
    in order, so the last round, one shard per worker, starts when each worker is free; halved, the workers finish
    within half a shard of each other and the building process has half a shard left to store after the last."""
    ids = sorted(set(customer_ids))
    parts = max(1, min(parts, len(ids)))
    if parts == 1:
        return [WHOLE]
    halved = min(last_round, parts - 1)
    weights = list(itertools.accumulate([2] * (parts - halved) + [1] * halved))
    starts = list(dict.fromkeys(ids[len(ids) * weight // weights[-1]] for weight in weights[:-1]))  # increasing
    lows: list[int | None] = [None, *starts]
    highs: list[int | None] = [start - 1 for start in starts] + [None]
    return [Shard(low, high, orphans=index == 0) for index, (low, high) in enumerate(zip(lows, highs, strict=True))]


def ranges(customer_ids: Sequence[int], size: int) -> list[Shard]:
    """Shards of about ``size`` customers each (``compute.partition_customers``): how a build and a reconciliation
    read a legal entity in this process, one range at a time, so memory stays bounded whatever its size."""
    return split(customer_ids, math.ceil(len(customer_ids) / size))
