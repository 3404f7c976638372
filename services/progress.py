"""Progress of a long use case as counts: what is counted, how many are done, of how many.

Why a plain callback: the services are the doorway for the CLI, the web desk and the scheduler, and only the CLI
draws bars (``desk.progress``, with rich); a service takes an optional ``Counted`` and calls it, knowing nothing of
terminals. ``total`` is the number known when the call is made.
"""

from __future__ import annotations

from collections.abc import Callable

Counted = Callable[[str, int, int], None]  # (what is counted, done so far, total)


def count(progress: Counted | None, what: str, done: int, total: int) -> None:
    """Report ``done`` of ``total`` ``what`` to ``progress`` when there is one."""
    if progress is not None:
        progress(what, done, total)
