"""Is the ledger reachable and migrated to every Alembic head? For monitoring: no login, no data, no URL shown."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from config import Settings
from ledger.migrate import current_revisions, head_revisions
from services.runtime import engine_for


@dataclass(frozen=True)
class Health:
    database: bool
    at_head: bool
    revisions: list[str]
    heads: list[str]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.database and self.at_head


def health(settings: Settings) -> Health:
    """Is the ledger reachable and migrated to every head? (for monitoring; no login, no data)."""
    heads = head_revisions()
    engine = engine_for(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revisions = current_revisions(engine)
    except Exception as exc:  # any driver error means "not reachable"; the type is reported, never the URL
        return Health(False, False, [], heads, type(exc).__name__)
    return Health(True, revisions == heads, revisions, heads)
