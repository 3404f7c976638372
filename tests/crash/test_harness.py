"""The crash helper's choice of kill points: spread over the whole command, reproducible, never outside it."""

from __future__ import annotations

import pytest

from tests.crash.harness import kill_points, random_moments


@pytest.mark.parametrize(("writes", "count", "skip", "expected"), [
    (0, 3, (), []),
    (10, 0, (), []),
    (1, 3, (), [1]),
    (10, 1, (), [5]),
    (10, 2, (), [1, 10]),
    (10, 4, (), [1, 4, 7, 10]),
    (10, 4, (4, 7), [1, 10]),
    (3, 6, (), [1, 2, 3]),
])
def test_kill_points(writes: int, count: int, skip: tuple[int, ...], expected: list[int]) -> None:
    assert kill_points(writes, count, skip=skip) == expected


def test_random_moments_are_reproducible_and_within_the_run() -> None:
    moments = random_moments(7, 5, 4.0)
    assert moments == random_moments(7, 5, 4.0)
    assert all(0.3 <= m <= 4.0 for m in moments)
