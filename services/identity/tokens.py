"""Session and API tokens: random, shown once, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

PREFIX = "cspb_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def wall_now() -> dt.datetime:
    """The real time, never the services' injectable clock (see the package docstring)."""
    return dt.datetime.now(dt.UTC)
