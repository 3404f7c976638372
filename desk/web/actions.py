"""The changes people make from the web desk, each delegated to the service that owns its rules.

The web layer decides nothing here: NCE validation, four-eyes, numbering and the outbox live in their services. While
a service has not landed, the action answers ``NotAvailableYet`` (shown as a message) instead of faking a result.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from services.errors import NotAvailableYet


def service(module: str, function: str) -> Callable[..., Any]:
    """``services.<module>.<function>``, or ``NotAvailableYet`` naming what is missing."""
    try:
        target = importlib.import_module(f"services.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{module}":
            raise
        raise NotAvailableYet(f"services.{module} has not landed yet: {function} is not available") from None
    found = getattr(target, function, None)
    if found is None:
        raise NotAvailableYet(f"services.{module}.{function} has not landed yet")
    return found
