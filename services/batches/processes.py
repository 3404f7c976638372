"""A build's ranges rated by worker processes of this machine (``compute.processes``), while this process stores.

Why processes: rating is Python code, and one interpreter runs it on one core at a time (a second rating thread
measured slower than none on SQLite), so a build of a million licences used one core of the host however many it
had. Each worker runs the task a Dask worker runs (``services.batches.desired.rate_shard``): it reads its range of
customers in a read-only transaction of its own, rates it, compares it with what is billed and groups its invoices,
and only those come back. So the draft is the in-process draft, and this process alone writes it, in one
transaction. Why not a Dask ``LocalCluster`` for this: a host that only wants its own cores needs no scheduler, no
nanny processes and no ports; the standard library's pool does exactly this much.

- Workers start fresh (``spawn``): a forked child would inherit this process's open ledger connections and its
  writer thread.
- Ranges are handed out in order, at most ``processes + 1`` ahead of the one being stored, so memory holds a few
  ranges, not the legal entity.
- A worker's log records are handled by this process's handlers (plain or JSON lines), through a queue.
- A worker that dies (killed, out of memory) fails the build with :class:`~services.errors.Interrupted`: nothing of
  the build is written, and running it again is safe.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from logging.handlers import QueueHandler, QueueListener
from multiprocessing.queues import Queue

from config import Settings
from ledger.shards import Shard
from services.batches.desired import Part, Scope, rate_shard
from services.errors import Interrupted

log = logging.getLogger(__name__)


def rated_in_processes(settings: Settings, scope: Scope, shards: Sequence[Shard], processes: int) -> Iterator[Part]:
    """The parts of ``shards``, in order, rated by ``processes`` worker processes."""
    context = multiprocessing.get_context("spawn")
    records: Queue = context.Queue()
    root = logging.getLogger()
    listener = QueueListener(records, *root.handlers, respect_handler_level=True)
    listener.start()
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_log_to,
                               initargs=(records, root.getEffectiveLevel()))
    log.info("batch build tenant=%s: %s ranges rated by %s worker processes", scope.tenant, len(shards), processes)
    try:
        ahead: deque[Future[Part]] = deque(pool.submit(rate_shard, settings, scope, shard)
                                           for shard in shards[:processes + 1])
        for index, shard in enumerate(shards):
            try:
                part = ahead.popleft().result()
            except BrokenProcessPool:
                raise Interrupted(f"compute.processes: a worker process stopped (killed or out of memory) while "
                                  f"rating {shard.describe()} of {scope.tenant}; nothing of the build was "
                                  f"written, run it again") from None
            following = index + processes + 1
            if following < len(shards):
                ahead.append(pool.submit(rate_shard, settings, scope, shards[following]))
            yield part
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        listener.stop()


def _log_to(records: Queue, level: int) -> None:
    """A worker's logging: every record at ``level`` or above goes to the building process."""
    root = logging.getLogger()
    root.handlers = [QueueHandler(records)]
    root.setLevel(level)
