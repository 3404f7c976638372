"""`cspbill serve`: the web desk and the scheduler in one process."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import typer

from config import Settings
from desk.context import state

log = logging.getLogger("cspbill.serve")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        ctx: typer.Context,
        host: str = typer.Option(None, help="Interface to bind (default: web.host from config)."),
        port: int = typer.Option(None, help="Port (default: web.port from config)."),
        scheduler_enabled: bool = typer.Option(True, "--scheduler/--no-scheduler", help="Run the scheduled jobs."),
    ) -> None:
        """Serve the web desk (uvicorn) and run the nightly jobs in the same process.

        Ctrl-C or SIGTERM stops accepting requests, lets a running job finish, then exits; a job interrupted by a
        hard kill is safe to re-run (every job is idempotent and guarded by a database lease that expires).
        """
        serve(state(ctx).config_file(), state(ctx).settings(), host, port, scheduler_enabled)


def serve(config_file: str, settings: Settings, host: str | None, port: int | None, scheduler_enabled: bool) -> None:
    import uvicorn

    import scheduler
    from desk.web.app import create_app

    running = scheduler.start(config_file, settings) if scheduler_enabled else None
    try:
        with _sigterm_exits():
            # proxy_headers off: the desk believes X-Forwarded-* only from web.trusted_proxies (desk.web.transport)
            uvicorn.run(create_app(settings), host=host or settings.web.host, port=port or settings.web.port,
                        log_level="info", proxy_headers=False)
    finally:
        if running is not None:
            log.info("stopping the scheduler; waiting for a running job to finish")
            running.shutdown(wait=True)


def _exit(signum: int, frame: FrameType | None) -> None:
    log.info("stopping on signal %s", signal.Signals(signum).name)
    raise SystemExit(0)


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While the web desk runs, SIGTERM (``systemctl stop``, ``docker stop``) ends the process the normal way.

    Why: uvicorn stops serving on SIGTERM and then raises the signal again for the handler it found, which by default
    kills the process on the spot: the scheduler's running job was cut off, and nothing registered to run at exit
    ran (the ledger's connections were never closed, leaving SQLite's write-ahead log behind). With this handler the
    signal raised again becomes ``SystemExit``: the scheduler is stopped, a running job finishes, the engines are
    disposed and the process exits with status 0. A second SIGTERM, while a job finishes, meets the handler found
    before (by default it kills the process at once); a killed job is closed as abandoned and safe to run again."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
