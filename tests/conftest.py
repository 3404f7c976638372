"""Shared fixtures: the ledger on SQLite and on a throwaway PostgreSQL cluster, and settings pointing at it.

Tests that take ``db_url`` run once per database. Without PostgreSQL binaries the PostgreSQL half is skipped with a
visible reason (CI installs them, so there it always runs).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import settings as hypothesis_settings

from config import Settings
from config.loader import parse_settings
from ledger.db import make_engine
from ledger.migrate import upgrade
from services.runtime import dispose_engines
from tests.postgres import PostgresCluster, find_bindir, running_cluster

ROOT = Path(__file__).resolve().parent.parent

# No per-example deadline (two shared cores make timings meaningless); in CI the examples are derandomised so a run
# is reproducible, locally they keep exploring.
hypothesis_settings.register_profile("cspbill", deadline=None, derandomize=bool(os.environ.get("CI")))
hypothesis_settings.load_profile("cspbill")


HEAVY = ("slow", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow or browser tests first, each module's tests kept in file order. ``make test`` gives each
    module to one worker (``--dist loadfile``); a long module handed out last would leave the other workers idle
    while it runs. A module that only reuses the demo month another one runs (``tests/e2e/conftest.py``) goes with
    the quick ones: handed out at once, its worker would wait for that run instead of working."""
    heavy = {item.path for item in items if any(item.get_closest_marker(name) for name in HEAVY)}
    demo = list(dict.fromkeys(item.path for item in items if "demo_month" in getattr(item, "fixturenames", ())))
    heavy -= set(demo[1:])
    items.sort(key=lambda item: item.path not in heavy)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: PostgreSQL half of the ledger tests skipped")
    with running_cluster(bindir) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger at the newest migration, made once per test process and copied for each test: a file copy
    costs milliseconds, running every migration a quarter of a second."""
    path = tmp_path_factory.mktemp("migrated") / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_cluster: PostgresCluster) -> str:
    """A PostgreSQL database at the newest migration, made once per test process: each test's database is created
    from it as a template (nothing else may connect to it, so its engine is disposed)."""
    name = postgres_cluster.create("t_migrated")
    engine = make_engine(postgres_cluster.url(name))
    upgrade(engine)
    engine.dispose()
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh ledger database URL at the newest migration (empty, with ``@pytest.mark.empty_ledger``), once for
    SQLite and once for PostgreSQL. Migrated from a per-process copy: ``initialise`` then has nothing to migrate."""
    empty = request.node.get_closest_marker("empty_ledger") is not None
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        if not empty:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        dispose_engines()
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    with cluster.database(None if empty else request.getfixturevalue("migrated_postgres")) as url:
        yield url
        dispose_engines()  # the cached engines' pooled connections: a worker would hold every test's open


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
