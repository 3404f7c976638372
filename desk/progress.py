"""Progress of long CLI commands: rich bars with counts on a terminal, plain lines everywhere else.

Why one place: ``sync``, ``batch build``, ``export`` and the imports all hand the same callback
(``services.progress.Counted``: what, done, total) to their service; this turns it into bars when a person watches
the terminal (stdout is one), and into a few plain lines (start, every tenth, end) when the output goes to a file, a
pipe, cron or a test, where redrawn bars would be noise. Both go to stderr: stdout keeps the command's own result
(a table, a sentence or ``--json``) exactly as before.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from services.progress import Counted

STEPS = 10  # plain lines per counted thing, at most, besides the first and the last


@dataclass
class Bars:
    """One bar (or plain line series) per counted thing, named ``<title> <what>``."""

    title: str
    console: Console
    live: Progress | None
    tasks: dict[str, TaskID] = field(default_factory=dict)
    shown: dict[str, tuple[int, int]] = field(default_factory=dict)  # plain: the last (step, total) printed

    def __call__(self, what: str, done: int, total: int) -> None:
        label = f"{self.title} {what}".strip()
        if self.live is not None:
            if what not in self.tasks:
                self.tasks[what] = self.live.add_task(label, total=total)
            self.live.update(self.tasks[what], completed=done, total=total)
            return
        step = STEPS if total == 0 else done * STEPS // total
        if self.shown.get(what) == (step, total):
            return
        self.shown[what] = (step, total)
        self.console.print(f"{label}: {done} of {total}", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bars(title: str) -> Iterator[Counted]:
    """A ``Counted`` callback for a service: bars when stdout is a terminal, else plain lines (both on stderr)."""
    console = Console(stderr=True)
    if not sys.stdout.isatty():
        yield Bars(title, console, None)
        return
    live = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)
    with live:
        yield Bars(title, console, live)
