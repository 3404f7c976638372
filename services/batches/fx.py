"""Foreign-currency licences in a batch: the ledger's rates as one table, and a subscription's terms converted.

Why here: a licence priced in another currency than its legal entity's (a USD subscription of a EUR tenant) is billed
on the customer's normal invoice, in the tenant's currency. The rating engine converts each line with the rate the
tenant's rule (``rating.fx_rate_date``) picks for that line's bill date; this module only hands it the recorded rates
and the rule, and words a missing rate as a problem of the batch naming the subscription, currency and day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ledger.models import FxRate as FxRateRow
from ledger.models import Subscription
from rating.fx import FxConversion, FxRate, FxRateDate, FxTable, MissingRate
from services.batches.timeline import Timeline


def fx_table(rows: Sequence[FxRateRow]) -> FxTable:
    """Every recorded rate (read-only ledger rows) as the rating engine's table."""
    return FxTable(FxRate(r.source, r.base, r.quote, r.rate, r.rate_date) for r in rows)


def in_currency(timeline: Timeline, currency: str, table: FxTable, rule: FxRateDate) -> Timeline:
    """``timeline`` billed in ``currency``: unchanged when its prices already are, else converted line by line."""
    terms = timeline.terms
    if terms.currency == currency:
        return timeline
    conversion = FxConversion(table, terms.currency, currency, rule)
    return dataclasses.replace(timeline, terms=dataclasses.replace(terms, currency=currency, fx=conversion))


def missing_rate(sub: Subscription, missing: MissingRate) -> str:
    """The batch problem for a subscription that cannot be converted (no line of it is billed)."""
    return (f"subscription {sub.id} ({sub.product_id}) currency {sub.currency}: no {missing.base}->{missing.quote} "
            f"exchange rate on or before {missing.on.isoformat()}; run `cspbill fx sync` (--history for older days)")
