"""Sandbox servers on loopback for the ERP adapter tests (real HTTP, real zeep, no mocks of our code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.core import Clock, SandboxApp, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def serve(app: SandboxApp, prefix: str, tls: TlsFiles | None = None) -> Iterator[SandboxServer]:
    server = SandboxServer(app, tls=tls, prefix=prefix).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "erp-state"
