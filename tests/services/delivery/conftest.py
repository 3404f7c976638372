"""Fixtures of the delivery tests: an initialised ledger, the SMTP catcher and the Peppol access point sandbox."""

import pytest

from config import Settings
from services.operations import initialise
from tests.services.delivery.support import sandboxes

__all__ = ["sandboxes"]


@pytest.fixture(autouse=True)
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings
