"""Bulk work (a build, a pull mapped into the ledger) pauses the cyclic garbage collector while it allocates, and
restores it afterwards, also on errors."""

from __future__ import annotations

import gc

import pytest

from services.allocation import bulk_allocation


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled: bool) -> None:
    before = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with bulk_allocation():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), bulk_allocation():
            raise RuntimeError("a partition failed")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if before else gc.disable)()
