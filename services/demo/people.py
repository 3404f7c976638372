"""The demo's people sign in the way people do: with their passwords (the demo config documents them as
``demo-<username>``), through the same sign-in as `cspbill login`, so every build, approval, price change and
export the demo makes runs on a real session that the services confirm; nobody acts by name alone."""

from __future__ import annotations

from config import Settings
from services.access import Actor
from services.identity import sign_in_password, sign_out

DEMO_PASSWORD = "demo-{}"


class DemoPeople:
    """Each demo person signed in once, on first use, and signed out when the demo ends (``close``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._signed: dict[str, Actor] = {}
        self._tokens: list[str] = []

    def __getitem__(self, username: str) -> Actor:
        if username not in self._signed:
            issued = sign_in_password(self._settings, username, DEMO_PASSWORD.format(username), "cli", "cspbill demo")
            self._signed[username] = issued.actor
            self._tokens.append(issued.token)
        return self._signed[username]

    def close(self) -> None:
        for token in self._tokens:
            sign_out(self._settings, token)
        self._signed.clear()
        self._tokens.clear()
