"""The Entra sandbox for sign-in tests (HTTPS on a free port, its own CA) and the demo config pointed at it, with
the desk app's secret in the environment variable that config names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import Settings
from config.loader import parse_settings
from sandbox import entra
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files
from tests.conftest import demo_config_data

SECRET_ENV = "CSPBILL_ENTRA_CLIENT_SECRET"


@dataclass
class EntraSandbox:
    url: str
    tls: TlsFiles
    clock: Clock
    authority: str


@contextmanager
def entra_sandbox(folder: Path, device_interval: int = 1) -> Iterator[EntraSandbox]:
    tls = make_tls_files(folder / "tls")
    clock = Clock()
    with SandboxServer(entra.build(Clock(), sign_in_clock=clock, device_interval=device_interval), tls=tls) as server:
        yield EntraSandbox(server.url, tls, clock, f"{server.url}/{entra.TENANT_ID}")


def entra_config(sandbox: EntraSandbox, database_url: str, folder: Path, **web: Any) -> Settings:
    """The demo config on ``database_url`` with ``auth.entra`` at ``sandbox`` (``web`` overrides ``web.*``)."""
    data = demo_config_data()
    data["database"] = {"url": database_url, "url_env": None}
    data["auth"]["entra"] = dict(data["auth"]["entra"], authority=sandbox.authority, ca_bundle=str(sandbox.tls.ca_cert))
    data["web"].update(web)
    return parse_settings(data, folder / "config.yaml")
