"""The ``cspbill`` command line run inside the test process, for tests about what a command does rather than about
the process it runs in.

Why: a real console-script start costs about two seconds (Python, pandas, SQLAlchemy, the command's services), and
the suite ran several hundred of them. ``run_cli`` calls the very entry point the console script calls
(``desk.cli.main``, with its exit-code mapping) under Click's test isolation, so stdout, stderr, stdin, the exit
code and the environment are the ones a subprocess would see, without the start-up.

What a process would have reset, this module resets around each run: the environment (only the given one, with every
inherited ``CSPBILL_*`` variable removed, as the subprocess helpers did), the working directory, the root logger's
handlers (``desk.logs`` installs its own with ``logging.basicConfig``), the level of loggers the CLI sets, and the
commands registered on the shared Typer app. Engines stay cached per database URL (``services.runtime``): each
test's ledger has its own URL, and the test's own services calls share that engine with the CLI.

Keep real subprocesses (``subprocess.run`` of the console script) where the process itself is under test: crashes
and kills, signals, exit codes of the installed script, parallel processes, the demo.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner

from desk import cli
from services.access import SECURITY_LOG

PROG = "cspbill"


@contextlib.contextmanager
def _process_like_state(cwd: Path | None) -> Iterator[None]:
    """Undo, after the run, what a command does to process-wide state that a fresh process would not carry over."""
    root = logging.getLogger()
    security = logging.getLogger(SECURITY_LOG)
    saved_handlers, saved_level, saved_security = root.handlers[:], root.level, security.level
    saved_commands, saved_groups = cli.app.registered_commands[:], cli.app.registered_groups[:]
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    root.handlers = []  # so that the CLI's logging.basicConfig installs its handler on this run's stderr
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        cli.app.registered_commands[:], cli.app.registered_groups[:] = saved_commands, saved_groups
        for handler in root.handlers:
            handler.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        security.setLevel(saved_security)


def _environment(env: Mapping[str, str] | None) -> dict[str, str | None]:
    """Click's overrides: ``env`` on top of this process's environment minus its ``CSPBILL_*`` variables."""
    overrides: dict[str, str | None] = {key: None for key in os.environ if key.startswith("CSPBILL_")}
    overrides.update(env or {})
    return overrides


def run_cli(args: Sequence[str], env: Mapping[str, str] | None = None, input: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cspbill ARGS`` in this process; the result has the ``returncode``, ``stdout`` and ``stderr`` of a
    subprocess run with ``env`` (its ``CSPBILL_*`` variables replace the inherited ones), ``input`` on stdin and
    ``cwd`` as working directory. A bug's traceback lands on stderr with exit code 1, as the interpreter does."""
    runner = CliRunner()
    argv = [PROG, *args]
    with (_process_like_state(cwd), runner.isolation(input=input, env=_environment(env)) as (out, err, _)):
        sys.argv = argv
        code: int | str | None = 0
        try:
            cli.main()
        except SystemExit as exit_:
            code = exit_.code
        except Exception:  # a bug: what the process would die of
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        if isinstance(code, str):  # sys.exit("message") prints the message and exits 1
            sys.stderr.write(code + "\n")
            code = 1
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(argv, code or 0, stdout, stderr)
