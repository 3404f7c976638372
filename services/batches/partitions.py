"""Where a build's rating runs: in this process, or partitioned by customer on a Dask cluster (``compute``).

Why partitions at all: a legal entity's customers are independent of each other (each line's key and each invoice
names its customer), so a build can rate, compare and store one range of customers (``ledger.shards``) at a time.
In this process that bounds memory: ranges of ``compute.partition_customers`` customers are rated one after the
other, and only one range's lines are held (two: the next range is rated, in a read-only transaction of its own,
while the ledger stores this one: on SQLite by the writer thread, on PostgreSQL by the server); with
``compute.processes`` above 1, worker processes of this machine rate the ranges, as on a Dask cluster
(``_on_local_cluster``). On a Dask cluster
the ranges are rated in parallel, by workers that read the ledger themselves in a read-only transaction
(``services.batches.desired.rate_shard``), and this process stores each range's lines as they come back.

Why Dask distributed: a host with a million contracts rates more than one machine's cores can in the month-end
window, and Dask's scheduler already handles what a hand-made pool would have to: placing tasks, re-running the
task of a worker that died, and returning a task's exception to the caller. The building process alone writes the
draft, in one transaction, so a failed or killed partition leaves nothing written: the build fails and is run
again. Invoice numbers are not part of a build at all: they are assigned centrally, once, at approval.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from config import Settings
from ledger.db import is_sqlite, is_sqlite_file
from ledger.shards import Shard, ranges, split
from services.batches.desired import Part, Scope, draft_part, packed_shard, rate_shard
from services.errors import BadSetting
from services.progress import Counted, count
from services.uow import UnitOfWork

log = logging.getLogger(__name__)
PARTS_PER_THREAD = 8  # more partitions than threads: a slow one does not leave the others idle, and this process
# stores each range while the workers rate the next (4 partitions on 2 workers: 28 s; 32: 25.5 s at 20 % of the bench)


@dataclass
class Rated:
    """One partition's draft: its position among the partitions, its shard and its invoices."""

    index: int
    shard: Shard
    part: Part


def dask_scheduler(settings: Settings, override: str | None = None) -> str | None:
    """The scheduler a build sends its partitions to: ``--dask`` if given, else ``compute.dask_scheduler``."""
    return override or settings.compute.dask_scheduler


def rated_parts(uow: UnitOfWork, settings: Settings, scope: Scope, address: str | None,
                counted: Counted | None = None) -> Iterator[Rated]:
    """The partitions of ``scope``'s customers, rated: here one after the other, or on the Dask cluster at
    ``address`` in the order they finish. Each customer is in exactly one partition."""
    customer_ids = uow.batches.customer_ids(scope.tenant_id)
    if address:
        yield from _on_cluster(uow, settings, scope, customer_ids, address, counted)
        return
    shards = ranges(customer_ids, settings.compute.partition_customers)
    if len(shards) == 1:  # the usual case: progress counts subscriptions
        yield Rated(0, shards[0], draft_part(uow, settings, scope, shards[0], counted))
        return
    if settings.compute.processes > 1 and opened_elsewhere(uow):
        yield from _on_local_cluster(uow, settings, scope, customer_ids, counted)
        return
    if uow.session.get_bind().dialect.name == "postgresql":
        parts = _overlapped(settings, scope, shards)
    elif stored_behind(uow):  # each range read on a connection of its own: the build's may be storing the last
        parts = (rate_shard(settings, scope, shard) for shard in shards)
    else:
        parts = (draft_part(uow, settings, scope, shard) for shard in shards)
    for index, (shard, part) in enumerate(zip(shards, parts, strict=True)):
        count(counted, "partitions", index, len(shards))
        yield Rated(index, shard, part)
    count(counted, "partitions", len(shards), len(shards))


def opened_elsewhere(uow: UnitOfWork) -> bool:
    """Whether another process can open the build's ledger (a worker process): a server, or a SQLite file; not an
    in-memory SQLite ledger, which only this process holds."""
    bind = uow.session.get_bind()
    return not is_sqlite(bind) or is_sqlite_file(bind)


def stored_behind(uow: UnitOfWork) -> bool:
    """Whether a build's new lines are written behind (``bulk_insert.insert_behind``) while the next range is rated:
    on a SQLite file, whose ranges are read on connections of their own. Not on an in-memory SQLite ledger, which is
    one connection per thread (the build's own); PostgreSQL's COPY is done when it returns either way."""
    return is_sqlite_file(uow.session.get_bind())


def _overlapped(settings: Settings, scope: Scope, shards: Sequence[Shard]) -> Iterator[Part]:
    """PostgreSQL: each range is rated by a thread in a read-only transaction of its own (``rate_shard``, as on a
    Dask worker), the next one while the caller stores this one, so the rating goes on while the server stores.

    Why only there: storing a range on PostgreSQL is mostly the server's work (about a third of a large build's time
    was this process waiting for its COPYs); on SQLite the store runs in this process, and a second rating thread
    only competes with it for the interpreter (measured slower)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cspbill-rate") as rater:
        rating = rater.submit(rate_shard, settings, scope, shards[0])
        for index in range(len(shards)):
            part = rating.result()
            if index + 1 < len(shards):  # the next range is rated while the caller stores this one
                rating = rater.submit(rate_shard, settings, scope, shards[index + 1])
            yield part


def _on_local_cluster(uow: UnitOfWork, settings: Settings, scope: Scope, customer_ids: Sequence[int],
                      counted: Counted | None) -> Iterator[Rated]:
    """Partitions rated by ``compute.processes`` worker processes of this machine: a Dask ``LocalCluster`` started
    for the build and stopped after it.

    Why: rating is Python code, which one interpreter runs on one core at a time (a second rating thread measured
    slower than none on SQLite), so a build in one process used one core of the host however many it had. Why a
    Dask cluster and not a pool of our own: the workers then run exactly what a remote cluster's run, and Dask
    replaces a worker that dies (killed, out of memory) and rates its partition again, where a killed worker of the
    standard library's pool breaks the pool (and, caught while another worker starts, can leave it waiting)."""
    from distributed import LocalCluster

    # a worker whose heartbeat meets the closing scheduler logs a harmless error; the build's own failures are raised.
    # The scheduler's HTTP endpoints take a free port: the default 8787 may be another build's or another program's.
    with LocalCluster(n_workers=settings.compute.processes, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster:
        yield from _on_cluster(uow, settings, scope, customer_ids, cluster.scheduler_address, counted)


def _on_cluster(uow: UnitOfWork, settings: Settings, scope: Scope, customer_ids: Sequence[int], address: str,
                counted: Counted | None) -> Iterator[Rated]:
    """Partitions rated on the Dask cluster at ``address``, one task per shard, as they finish. A worker's exception
    (a usage file changed since the sync, say) is raised here, as it was raised there."""
    from distributed import Client, as_completed  # only a partitioned build pays its second of import time

    try:
        client = Client(address, timeout=settings.compute.connect_timeout_seconds, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise BadSetting(f"compute.dask_scheduler {address!r}: cannot reach the Dask scheduler ({exc})") from None
    with client, client.as_current():
        client.forward_logging("services", logging.getLogger("services").getEffectiveLevel())  # workers' warnings
        threads = sum(client.nthreads().values())
        if not threads:
            raise BadSetting(f"compute.dask_scheduler {address!r}: the Dask cluster has no workers")
        shards = split(customer_ids, settings.compute.partitions or PARTS_PER_THREAD * threads, last_round=threads)
        log.info("batch build tenant=%s: %s partitions on %s (%s worker threads)", scope.tenant, len(shards),
                 address, threads)
        futures = client.map(packed_shard, [settings] * len(shards), [scope] * len(shards), shards, pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        count(counted, "partitions", 0, len(shards))
        done = 0
        try:
            for future in as_completed(futures, timeout=settings.compute.timeout_seconds):
                position = index[future.key]
                yield Rated(position, shards[position], pickle.loads(future.result()))
                done += 1
                count(counted, "partitions", done, len(shards))
        except TimeoutError:
            raise BadSetting(f"compute.timeout_seconds: {len(shards) - done} of {len(shards)} partitions were not "
                             f"rated within {settings.compute.timeout_seconds} s on {address}; nothing was written "
                             f"(run the build again, or allow more time)") from None
