"""How bulk work allocates: without Python's cyclic garbage collector, while a build rates (in the building process
and on every Dask worker) and while the nightly sync maps a pull into the ledger.

Why: a build's lines, lineage and rows, and a pull's rows and snapshot texts, hold no reference cycles (reference
counting frees them), but every full collection walks all live objects, the pull's records included; in a
300,000-invoice build that cost about a fifth of the CPU time, a Dask worker rating a partition with collection on
took about three times as long as the same partition in process, and mapping a first night of 200,000 licences spent
a sixth of its time collecting.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while bulk work allocates its million small objects; the previous state
    is restored, also on errors."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
