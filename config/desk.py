"""Plausibility limits of the service desk's mutations.

Why configurable: a reseller of a few large tenants sells thousands of seats of one product, a small one never more
than a hundred; a typo (an extra zero, a pasted ticket number) must be refused or confirmed before it reaches the
vendor and the invoice. ``max_seats`` is the most seats any subscription may be given (``max_seats_per_product``
overrides it per product id or name); a change above ``confirm_above_percent`` of the current seats or above
``confirm_above_seats`` seats (either) needs a second, explicit confirmation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from config.base import Strict

Seats = Annotated[int, Field(ge=1, le=10_000_000)]


class MutationLimits(Strict):
    """``desk.mutations`` in config.yaml."""

    max_seats: Seats = 10_000
    max_seats_per_product: dict[str, Seats] = Field(default_factory=dict)
    confirm_above_percent: Annotated[Decimal, Field(gt=0, le=10_000)] = Decimal(50)
    confirm_above_seats: Seats = 100

    def max_for(self, *products: str | None) -> int:
        """The seat maximum of the first named product with its own limit, else ``max_seats``."""
        for product in products:
            if product and product in self.max_seats_per_product:
                return self.max_seats_per_product[product]
        return self.max_seats


class DeskConfig(Strict):
    """``desk`` in config.yaml: what the service desk may enter."""

    mutations: MutationLimits = MutationLimits()
