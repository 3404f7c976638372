"""Background jobs of the web process: a long service call (a batch's "Export all") runs in a thread of its own so
the page that started it answers at once and shows the progress as the service writes it.

Why so small: what a job did is in the ledger (the outbox rows, the audit log), so a job here only needs to say
whether it still runs and, if it stopped on an error, which. One job per key at a time in this process; a second
process (or a restart) is no danger to the ERP, because the outbox claim lets only one run send an invoice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from services.errors import UserFacingError

log = logging.getLogger("cspbill.web.jobs")


@dataclass
class Job:
    """One job: who started it, when, whether it still runs, and the error it stopped on."""

    label: str
    started_by: str
    started_at: dt.datetime
    running: bool = True
    error: str | None = None


class BackgroundJobs:
    """The jobs of this web process by key (the latest per key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, Job] = {}

    def start(self, key: Hashable, label: str, started_by: str, work: Callable[[], object]) -> bool:
        """Run ``work`` in a daemon thread unless a job of ``key`` still runs (then ``False``)."""
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.running:
                return False
            job = Job(label, started_by, dt.datetime.now(dt.UTC))
            self._jobs[key] = job
        thread = threading.Thread(target=self._run, args=(job, work), name=f"job:{label}", daemon=True)
        thread.start()
        return True

    def get(self, key: Hashable) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def wait(self, key: Hashable, timeout: float) -> bool:
        """Wait until the job of ``key`` has ended (for tests and shutdown); ``False`` if it still runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(key)
            if job is None or not job.running:
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _run(job: Job, work: Callable[[], object]) -> None:
        try:
            work()
        except UserFacingError as exc:
            job.error = str(exc)
            log.warning("web job %s stopped: %s", job.label, exc)
        except Exception as exc:  # a thread's error is otherwise lost: shown on the page and logged in full
            job.error = f"{type(exc).__name__}: {exc}"
            log.exception("web job %s failed", job.label)
        finally:
            job.running = False
