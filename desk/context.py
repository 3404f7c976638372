"""State shared by CLI commands: the config path and helpers to load settings and fail with one line."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from config import ConfigError, Settings, load_config, resolve_config_path
from desk.credentials import CredentialStore
from desk.exit_codes import ExitCode
from services.access import Actor
from services.clock import Clock, FixedClock, SystemClock
from services.errors import NotSignedIn
from services.identity import authenticate

NOW_ENV = "CSPBILL_NOW"  # an ISO 8601 instant with offset: run a command "as of" that moment (replaying a night)
TOKEN_ENV = "CSPBILL_TOKEN"  # a service account's API token (automation), or a person's session token
AS_USER_HELP = "Act as this signed-in person (needs their own `cspbill login` here; --as alone proves nothing)."

err_console = Console(stderr=True)


@dataclass
class CliState:
    config_path: str | None
    _settings: Settings | None = field(default=None, repr=False)

    def config_file(self) -> str:
        """The absolute path of the config in use (jobs store it, so a restarted scheduler finds it)."""
        return str(resolve_config_path(self.config_path).resolve())

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_config(self.config_path)
            except ConfigError as exc:
                fail(f"config error: {exc}", ExitCode.CONFIG)
        return self._settings

    def credentials(self) -> CredentialStore:
        return CredentialStore(self.settings().database_url())

    def actor(self, as_user: str | None = None) -> Actor:
        """Who runs this command, proven by a token: ``$CSPBILL_TOKEN``, else the stored sign-in of ``--as USER`` or
        of the last person to sign in here. The services check the token; a name alone is never enough."""
        settings = self.settings()
        token = os.environ.get(TOKEN_ENV)
        if token:
            who = authenticate(settings, token, "cli")
            if as_user and as_user != who.username:
                raise NotSignedIn(f"--as {as_user}: {TOKEN_ENV} belongs to {who.username!r}; acting as "
                                  f"{as_user!r} needs their own sign-in")
            return who
        name, stored = self.credentials().token(as_user)
        if stored is None:
            raise NotSignedIn(f"not signed in{f' as {name!r}' if name else ''} here: run `cspbill login"
                              f"{f' {name}' if name else ''}` (automation: set {TOKEN_ENV})")
        return authenticate(settings, stored, "cli")

    def clock(self) -> Clock:
        """The services' clock: ``$CSPBILL_NOW`` (e.g. ``2026-05-03T00:30:00Z``) fixes now, else the system clock.

        Why an environment variable: the demo and the end-to-end tests replay a month night by night through the real
        console script, each command "as of" its night, without a hidden option on every command. Only a config
        with ``clock.allow_override: true`` honours it: in production nobody may backdate an event or step past
        the NCE window.
        """
        value = os.environ.get(NOW_ENV)
        if not value:
            return SystemClock()
        if not self.settings().clock.allow_override:
            fail(f"{NOW_ENV} is set, but this config does not allow moving the clock (clock.allow_override is "
                 f"false); unset {NOW_ENV}")
        try:
            now = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            fail(f"{NOW_ENV}: not an ISO 8601 instant: {value!r}")
        if now.tzinfo is None:
            fail(f"{NOW_ENV}: {value!r} has no UTC offset (write e.g. 2026-05-03T00:30:00Z)")
        return FixedClock(now.astimezone(dt.UTC))


def state(ctx: typer.Context) -> CliState:
    return ctx.find_root().obj


def print_error(message: str) -> None:
    """One clear line on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit non-zero (inside a command)."""
    print_error(message)
    raise typer.Exit(code)


def day_option(option: str, value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option's day (``None`` when not given); anything else fails with one line naming it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date like 2026-11-01")
