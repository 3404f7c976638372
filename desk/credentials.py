"""Where `cspbill login` keeps the tokens of the people signed in on this machine: one file in the user's config
directory (``$XDG_CONFIG_HOME/cspbill/credentials.json``, default ``~/.config``), readable by its owner only.

Why per ledger: a token is only good for the ledger that issued it, so the file keys tokens by a hash of the
database URL (the URL itself may hold a password and is not written). Several people may be signed in at once (a
person acting for a colleague needs that colleague's own sign-in: ``--as`` picks one of them, it proves nothing by
itself); the last one to sign in is the default.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_MODE, DIR_MODE = 0o600, 0o700


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cspbill" / "credentials.json"


def ledger_key(database_url: str) -> str:
    return hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:24]


class CredentialStore:
    def __init__(self, database_url: str, path: Path | None = None) -> None:
        self.path = path or credentials_path()
        self.key = ledger_key(database_url)

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a damaged file signs everybody out rather than failing every command

    def _entry(self, data: dict[str, Any]) -> dict[str, Any]:
        return data.setdefault("ledgers", {}).setdefault(self.key, {"current": None, "tokens": {}})

    def token(self, username: str | None = None) -> tuple[str | None, str | None]:
        """(username, token) of ``username`` (default: the last to sign in); (name, None) when not signed in."""
        entry = self._entry(self._read())
        name = username or entry.get("current")
        return name, entry["tokens"].get(name, {}).get("token") if name else None

    def save(self, username: str, token: str, expires_at: str) -> None:
        data = self._read()
        entry = self._entry(data)
        entry["tokens"][username] = {"token": token, "expires_at": expires_at}
        entry["current"] = username
        self._write(data)

    def forget(self, username: str) -> None:
        data = self._read()
        entry = self._entry(data)
        entry["tokens"].pop(username, None)
        if entry.get("current") == username:
            entry["current"] = next(iter(entry["tokens"]), None)
        self._write(data)

    def signed_in(self) -> list[str]:
        return sorted(self._entry(self._read())["tokens"])

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials-")
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
