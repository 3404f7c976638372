"""Which subscriptions the vectorised engine (``rating.bulk_lines``) rates exactly as the scalar engine.

Why its own module: the month-end build asks this of every subscription before it rates any, and the question needs
no pandas (a third of a second to import), which every command importing the build would otherwise load.
"""

from __future__ import annotations

from collections.abc import Sequence

from rating.proration.terms import Change, PricePolicy, SubscriptionTerms, Timing


def in_scope(terms: SubscriptionTerms, changes: Sequence[Change], policy: PricePolicy) -> bool:
    """Whether the vectorised rules rate ``terms`` and ``changes`` exactly as the scalar engine: billed in its own
    currency in advance, only quantity, price and cancel changes (no product switch, no suspension), and price-only
    changes only where the policy applies them on their day (``prorated``)."""
    if terms.fx is not None or terms.timing is not Timing.ADVANCE or not terms.bills_when_suspended:
        return False
    for change in changes:
        if change.product is not None or change.suspended is not None:
            return False
        if change.price_only and policy is not PricePolicy.PRORATED:
            return False
    return True
