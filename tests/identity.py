"""Signed-in actors for tests: real ledger sessions, opened the way an identity provider's sign-in opens them
(``sign_in_external``), so the services confirm them exactly as they confirm a person's `cspbill login`."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from config import ConfigError, Settings, load_config
from desk.credentials import CredentialStore
from services.access import Actor, scheduler
from services.identity import issue_api_token, sign_in_external


def actor(settings: Settings, username: str) -> Actor:
    """``username`` signed in (a new session in the settings' ledger); ``scheduler`` is the nightly jobs' actor."""
    if username == "scheduler":
        return scheduler(settings)
    return sign_in_external(settings, username, "test", "cli", "pytest").actor


def nightly(settings: Settings) -> Actor:
    return scheduler(settings)


def service_token(settings: Settings, account: str) -> str:
    """An API token for a service account, issued by the demo config's administrator."""
    return issue_api_token(settings, actor(settings, "ada"), account, "pytest").token


def sign_in_cli(settings: Settings, home: Path, *usernames: str) -> dict[str, str]:
    """Sign ``usernames`` in for CLI subprocesses (the last is the default) in a credentials file under ``home``;
    returns the environment a subprocess needs to find it."""
    store = CredentialStore(settings.database_url(), home / "cspbill" / "credentials.json")
    for name in usernames:
        issued = sign_in_external(settings, name, "test", "cli", "pytest")
        store.save(name, issued.token, issued.expires_at.isoformat())
    return {"XDG_CONFIG_HOME": str(home)}


def people_env(config: Path) -> dict[str, str]:
    """The environment of CLI subprocesses run with ``config``: every configured person signed in, the
    administrator ``ada`` by default (``--as`` picks another), once the ledger exists (after `cspbill init`)."""
    home = config.parent / "home"
    if config.exists() and not (home / "cspbill" / "credentials.json").exists():
        # a config the test made invalid, or a ledger not initialised yet: nobody to sign in (yet)
        with contextlib.suppress(ConfigError, SQLAlchemyError):
            settings = load_config(config)
            names = [user.username for user in settings.users]
            sign_in_cli(settings, home, *sorted(names, key=lambda name: name == "ada"))
    return {"XDG_CONFIG_HOME": str(home)}
