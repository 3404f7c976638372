"""Two parties on one PostgreSQL ledger, interleaved at a chosen statement: how the claim tests show that a read
followed by a write cannot let both parties act (PostgreSQL does not serialise write transactions as SQLite's
``BEGIN IMMEDIATE`` does).

Party B runs in a thread and stops just before its first statement containing every one of ``words`` (a driver
event, ``before_cursor_execute``); party A then runs in another thread, to its end or until it waits for a lock B
holds; then B goes on. Each test asserts that exactly one party won.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

BLOCKED_SECONDS = 2  # how long A may take before it counts as waiting for B's lock


def b_paused_for_a(engine: Engine, words: tuple[str, ...], b: Callable[[threading.Event], Any],
                   a: Callable[[], None]) -> Any:
    """Run ``b`` (given an event set once ``a`` is done: a run that must stay alive until then waits for it),
    paused before its statement with ``words`` while ``a`` runs; returns what ``b`` returned."""
    reached, resume, a_done = threading.Event(), threading.Event(), threading.Event()
    outcome: list[Any] = []
    failed: list[BaseException] = []

    def run_a() -> None:
        try:
            a()
        except BaseException as exc:  # raised in the test, once B is done
            failed.append(exc)

    b_thread = threading.Thread(target=lambda: outcome.append(b(a_done)))
    a_thread = threading.Thread(target=run_a)

    def hold(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread() is b_thread and not reached.is_set() and all(w in statement for w in words):
            reached.set()
            assert resume.wait(30), "party A did not act"

    event.listen(engine, "before_cursor_execute", hold)
    try:
        b_thread.start()
        assert reached.wait(30), f"party B never ran a statement with {words}"
        a_thread.start()
        a_thread.join(BLOCKED_SECONDS)  # done, or waiting for a lock B holds
        resume.set()
        a_thread.join(60)
    finally:
        resume.set()
        a_done.set()
        b_thread.join(60)
        event.remove(engine, "before_cursor_execute", hold)
    if failed:
        raise failed[0]
    assert outcome, "party B failed (see its thread's exception above)"
    return outcome[0]
