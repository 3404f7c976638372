"""Create or migrate the ledger schema with Alembic, programmatically (no alembic.ini to keep next to the database).

The migrations form one history (one head; parallel branches are joined by a merge revision, and a test keeps it so).
``upgrade`` is safe to run any number of times.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "ledger:migrations")
    return config


def upgrade(engine: Engine) -> list[str]:
    """Apply every pending migration; return the revisions the database is at afterwards."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return current_revisions(engine)


def current_revisions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
