"""Where a build's rating runs: in this process, or partitioned by customer on a Dask cluster (``compute``).

Why Dask distributed: a host with a million contracts rates more than one machine's cores can in the month-end
window, and Dask's scheduler already handles what a hand-made pool would have to: placing tasks, re-running the
task of a worker that died, and returning a task's exception to the caller. Each partition is a range of the legal
entity's customers (``ledger.shards``), read by the worker from the ledger in a read-only transaction and rated by
``services.batches.desired.rate_shard``; only lines come back. The building process alone writes the draft, in one
transaction, so a failed or killed partition leaves nothing written: the build fails and is run again. Invoice
numbers are not part of a build at all: they are assigned centrally, once, at approval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from config import Settings
from ledger.shards import Shard, split
from services.batches.desired import Part, Scope, rate_shard
from services.errors import BadSetting
from services.progress import Counted, count

log = logging.getLogger(__name__)
PARTS_PER_THREAD = 2  # a few more partitions than threads, so a slow one does not leave the others idle


def dask_scheduler(settings: Settings, override: str | None = None) -> str | None:
    """The scheduler a build sends its partitions to: ``--dask`` if given, else ``compute.dask_scheduler``."""
    return override or settings.compute.dask_scheduler


def rate_on_cluster(settings: Settings, scope: Scope, customer_ids: Sequence[int], address: str,
                    counted: Counted | None = None) -> Part:
    """The desired lines of ``scope`` rated on the Dask cluster at ``address``, one task per shard of
    ``customer_ids``, merged in shard order (each line's key names its customer, so no two shards make the same
    line). A worker's exception (a usage file changed since the sync, say) is raised here, as it was raised there."""
    from distributed import Client, as_completed  # only a partitioned build pays its second of import time

    try:
        client = Client(address, timeout=settings.compute.connect_timeout_seconds, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise BadSetting(f"compute.dask_scheduler {address!r}: cannot reach the Dask scheduler ({exc})") from None
    with client, client.as_current():
        threads = sum(client.nthreads().values())
        if not threads:
            raise BadSetting(f"compute.dask_scheduler {address!r}: the Dask cluster has no workers")
        shards = split(customer_ids, settings.compute.partitions or PARTS_PER_THREAD * threads)
        log.info("batch build tenant=%s: %s partitions on %s (%s worker threads)", scope.tenant, len(shards),
                 address, threads)
        futures = client.map(rate_shard, [settings] * len(shards), [scope] * len(shards), shards, pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        parts: list[Part | None] = [None] * len(shards)
        count(counted, "partitions", 0, len(shards))
        try:
            for done, future in enumerate(as_completed(futures, timeout=settings.compute.timeout_seconds), start=1):
                parts[index[future.key]] = future.result()
                count(counted, "partitions", done, len(shards))
        except TimeoutError:
            raise BadSetting(f"compute.timeout_seconds: {sum(part is None for part in parts)} of {len(shards)} "
                             f"partitions were not rated within {settings.compute.timeout_seconds} s on {address}; "
                             f"nothing was written (run the build again, or allow more time)") from None
    return merge([part for part in parts if part is not None], shards)


def merge(parts: Sequence[Part], shards: Sequence[Shard]) -> Part:
    """One part of the shards' parts; problems in shard order."""
    merged = Part()
    for part, shard in zip(parts, shards, strict=True):
        log.debug("batch build %s: %s lines, %s problems", shard.describe(), len(part.lines), len(part.problems))
        merged.lines.update(part.lines)
        merged.problems.extend(part.problems)
    return merged
