"""A fresh, initialised ledger for the desk's use cases (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from config import Settings
from services.operations import initialise


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings
