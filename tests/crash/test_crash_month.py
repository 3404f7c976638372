"""The crash suite (issue 16): sync, batch build, approve and export are each killed with SIGKILL at ledger writes
and at random moments, then run again; every time the ledger must equal the uninterrupted run's, each invoice must
be in the ERP sandbox exactly once with our totals, and the numbers must stay gapless.

The normal run kills each command at two writes; the full sweep (``slow``) adds more writes spread over the whole
command and random moments, within about two minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import pax8
from sandbox.core import Clock as SandboxClock
from sandbox.core import SandboxServer
from tests.crash.harness import kill_points, random_moments
from tests.crash.month import NOW, STAGES, Month, Stage, crash_and_recover, run_chain, seed

NORMAL_POINTS = 2
SWEEP_POINTS = 6
SWEEP_MOMENTS = 1


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    app = pax8.build(SandboxClock(NOW), seed=2)
    with SandboxServer(app, prefix=pax8.PREFIX) as server:
        work: Path = tmp_path_factory.mktemp("crash")
        chain = Month(work, f"{server.url}{pax8.PREFIX}")
        seed(chain)
        run_chain(chain)
        yield chain


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_killed_at_a_write_and_run_again(month: Month, stage: Stage) -> None:
    writes = month.baselines[stage.name].writes
    assert writes > 1, f"{stage.name} wrote {writes} statements"
    for n in kill_points(writes, NORMAL_POINTS + 2)[1:-1]:  # two writes inside the command, not its first or last
        crash_and_recover(month, stage, lambda crasher, argv, n=n: crasher.kill_at_write(n, *argv))


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_killed_across_the_whole_command_and_at_random_moments(month: Month, stage: Stage) -> None:
    baseline = month.baselines[stage.name]
    normal = tuple(kill_points(baseline.writes, NORMAL_POINTS + 2)[1:-1])
    for n in kill_points(baseline.writes, SWEEP_POINTS, skip=normal):
        crash_and_recover(month, stage, lambda crasher, argv, n=n: crasher.kill_at_write(n, *argv))
    for seconds in random_moments(STAGES.index(stage), SWEEP_MOMENTS, baseline.seconds):
        crash_and_recover(month, stage, lambda crasher, argv, s=seconds: crasher.kill_after(s, *argv))
