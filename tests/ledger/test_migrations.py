"""Migrations form one history, apply on SQLite and PostgreSQL, and running them (or init) twice changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from config import Settings
from ledger.db import make_engine
from ledger.migrate import current_revisions, head_revisions, upgrade
from ledger.models import Base
from services.operations import initialise
from services.uow import UnitOfWork


def test_one_history_every_migration_has_one_parent_after_the_merge() -> None:
    from alembic.script import ScriptDirectory

    from ledger.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert len(head_revisions()) == 1
    merged = False
    for revision in script.walk_revisions():
        down = revision.down_revision
        if isinstance(down, tuple) and len(down) > 1:
            assert revision.revision == "0005_one_history" and not merged
            merged = True
    assert merged


@pytest.mark.empty_ledger
def test_upgrade_reaches_the_head_and_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    assert upgrade(engine) == head_revisions()
    assert upgrade(engine) == head_revisions()
    assert current_revisions(engine) == head_revisions()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


@pytest.mark.empty_ledger
def test_migrated_schema_matches_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_init_twice_loads_tenants_and_users_once(settings: Settings) -> None:
    first = initialise(settings)
    assert (first.tenants_changed, first.users_changed) == (2, 5)
    second = initialise(settings)
    assert (second.tenants_changed, second.users_changed, second.users_deactivated) == (0, 0, 0)
    from services.runtime import engine_for

    with UnitOfWork(engine_for(settings)) as uow:
        assert [t.code for t in uow.tenants.all()] == ["de-gmbh", "nl-bv"]
        assert uow.users.by_username("anna").roles == ["finance", "approver"]
        assert sorted(event.action for event in uow.audit.list()) == ["init", "prices.config"]  # once each
