"""Fixtures for the Microsoft connectors: the Entra, Partner Center and ARM sandboxes over real loopback HTTPS.

Each test gets fresh servers (clean fault books and call logs) on one frozen sandbox clock; the production connectors
are built exactly as services build them, from a base URL, an authority, credentials and the sandbox CA bundle.
Retry backoffs and timeouts are small so the fault tests stay fast; nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from sandbox import cost_management, entra, partner_center, storage_account
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles, make_tls_files

NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
SEED = 7


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def policy(tls: TlsFiles) -> HttpPolicy:
    """Small, bounded retries: every fault test either survives within them or fails typed, quickly."""
    return HttpPolicy(connect_timeout=2.0, read_timeout=1.0, retries=2, backoff_factor=0.01, backoff_max=0.05,
                      verify=str(tls.ca_cert))


# The ARM sandbox's per-scope quota (5 queries a minute, as live) with its window shrunk to a second, so tests that
# run several queries on one scope meet the 429 and its wait without sitting out a minute.
FAST_SCOPE_QUOTA = (("QueriesPerMin", 5, 1.0),)


def _serve(module: ModuleType, clock: Clock, tls: TlsFiles, **options: object) -> Iterator[SandboxServer]:
    with SandboxServer(module.build(clock, seed=SEED, **options), tls=tls, prefix=module.PREFIX) as server:
        yield server


@pytest.fixture
def entra_server(clock: Clock, tls: TlsFiles) -> Iterator[SandboxServer]:
    yield from _serve(entra, clock, tls)


@pytest.fixture
def pc_server(clock: Clock, tls: TlsFiles) -> Iterator[SandboxServer]:
    yield from _serve(partner_center, clock, tls)


@pytest.fixture
def arm_server(clock: Clock, tls: TlsFiles) -> Iterator[SandboxServer]:
    yield from _serve(cost_management, clock, tls, entity_buckets=FAST_SCOPE_QUOTA)


@pytest.fixture
def storage_server(clock: Clock, tls: TlsFiles) -> Iterator[SandboxServer]:
    yield from _serve(storage_account, clock, tls, partition_bytes=4_000)  # many partitions, days straddling two


@pytest.fixture
def make_tokens(entra_server: SandboxServer, policy: HttpPolicy) -> Callable[..., TokenProvider]:
    """A ``TokenProvider`` against the Entra sandbox; override ``secret`` to present wrong credentials."""

    def make(scope: str, secret: str = entra.CREDENTIALS["client_secret"], source: str = "test") -> TokenProvider:
        authority = f"{entra_server.url}/{entra.CREDENTIALS['tenant_id']}"
        return TokenProvider(source, authority, entra.CREDENTIALS["client_id"], secret, scope, policy=policy)

    return make
