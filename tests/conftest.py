"""Shared fixtures: the ledger on SQLite and on a throwaway PostgreSQL cluster, and settings pointing at it.

Tests that take ``db_url`` run once per database. Without PostgreSQL binaries the PostgreSQL half is skipped with a
visible reason (CI installs them, so there it always runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import settings as hypothesis_settings

from config import Settings
from config.loader import parse_settings
from tests.postgres import PostgresCluster, find_bindir, running_cluster

ROOT = Path(__file__).resolve().parent.parent

# No per-example deadline (two shared cores make timings meaningless); in CI the examples are derandomised so a run
# is reproducible, locally they keep exploring.
hypothesis_settings.register_profile("cspbill", deadline=None, derandomize=bool(os.environ.get("CI")))
hypothesis_settings.load_profile("cspbill")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: PostgreSQL half of the ledger tests skipped")
    with running_cluster(bindir) as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    with cluster.database() as url:
        yield url


# For tests of the CLI and end to end, where the two databases do not differ: what they run through the services is
# covered on both by the ledger, repository, migration and services tests, and the month end through the CLI
# (tests/e2e/test_batch_month.py) still runs on both. Set as a module's ``pytestmark`` or on one test.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def demo_config_data() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The shipped demo config, pointed at this test's database."""
    data = demo_config_data()
    data["database"] = {"url": db_url, "url_env": None}
    return parse_settings(data, tmp_path / "config.yaml")
