"""The exit codes of every ``cspbill`` command: one table, so a scheduler or a script can tell "done" from "try again
later" from "a person must look" from "the configuration is wrong" without reading the output.

| code | name    | meaning                                                                                         |
|------|---------|-------------------------------------------------------------------------------------------------|
| 0    | OK      | everything due was done (every invoice went out, every source was read)                          |
| 1    | ERROR   | the command refused or could not start: bad input, a record not found, a role that is not allowed |
| 2    | USAGE   | unknown command or option, a missing argument (the command line itself)                          |
| 3    | CONFIG  | configuration: config.yaml invalid, a tenant / source / ERP target not configured, a credential    |
|      |         | environment variable missing                                                                    |
| 4    | PENDING | some work stays queued or uncertain and is retried later by itself (an ERP down or slow)          |
| 5    | FAILED  | some work failed and needs a person (an export rejected or with totals that differ, a source that |
|      |         | failed)                                                                                         |

When several apply, the most urgent wins: CONFIG, then FAILED, then PENDING. Commands that send or read many things
end with one line that counts each outcome (``Tally.line``), after which they exit with ``Tally.code``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NoReturn

import typer


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    PENDING = 4
    FAILED = 5


@dataclass(frozen=True)
class Tally:
    """How many of each outcome a command ended with, in the order they are printed, and which of them are pending
    (retried by themselves) or failed (need a person)."""

    what: str  # the command's noun: "export", "sync"
    counts: tuple[tuple[str, int], ...]
    pending: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    config: frozenset[str] = frozenset()

    @classmethod
    def of(cls, what: str, counts: Iterable[tuple[str, int]], *, pending: Iterable[str] = (),
           failed: Iterable[str] = (), config: Iterable[str] = ()) -> Tally:
        return cls(what, tuple(counts), frozenset(pending), frozenset(failed), frozenset(config))

    @property
    def code(self) -> ExitCode:
        present = {name for name, n in self.counts if n}
        if present & self.config:
            return ExitCode.CONFIG
        if present & self.failed:
            return ExitCode.FAILED
        if present & self.pending:
            return ExitCode.PENDING
        return ExitCode.OK

    @property
    def line(self) -> str:
        counted = ", ".join(f"{n} {name}" for name, n in self.counts)
        return f"{self.what}: {counted} (exit {self.code.value} {self.code.name})"


def exit_with(tally: Tally, echo: Callable[[str], None] = typer.echo) -> NoReturn:
    """Print the tally as the last line (through ``echo``, default stdout) and exit with its code."""
    echo(tally.line)
    raise typer.Exit(int(tally.code))
