"""Shards of a legal entity's customers: together they hold every customer id, and the records naming none, once."""

from __future__ import annotations

import pytest

from ledger.shards import Shard, split


@pytest.mark.parametrize(("ids", "parts", "expected"), [
    ([], 4, [Shard()]),
    ([5, 9], 1, [Shard()]),
    ([5, 9], 4, [Shard(None, 8, True), Shard(9, None, False)]),
    ([1, 2, 3, 4, 5, 6], 3, [Shard(None, 2, True), Shard(3, 4, False), Shard(5, None, False)]),
])
def test_shards_hold_every_customer_once(ids: list[int], parts: int, expected: list[Shard]) -> None:
    shards = split(ids, parts)
    assert shards == expected
    for customer in [None, -1, 0, *ids, 10_000]:
        assert sum(shard.holds(customer) for shard in shards) == 1
