"""Shards of a legal entity's customers: together they hold every customer id, and the records naming none, once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.lists(st.integers(1, 10_000), max_size=300), st.integers(1, 40), st.integers(0, 8))
def test_a_halved_last_round_still_holds_every_customer_once(ids: list[int], parts: int, last_round: int) -> None:
    shards = split(ids, parts, last_round)
    assert 1 <= len(shards) <= max(1, min(parts, len(set(ids))))
    for customer in [None, -1, 0, *ids, 10_001]:
        assert sum(shard.holds(customer) for shard in shards) == 1
    assert all(shard.first is None or shard.last is None or shard.first <= shard.last for shard in shards)


def test_the_last_round_holds_half_as_many_customers() -> None:
    shards = split(list(range(1, 1001)), 16, last_round=2)
    sizes = [sum(shard.holds(customer) for customer in range(1, 1001)) for shard in shards]
    assert sizes == [66, 67, 67, 66, 67, 67, 66, 67, 67, 66, 67, 67, 66, 67, 33, 34]
