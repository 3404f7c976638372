"""The ledger's billed lines and vendor cost lines as ``rating.margins.Charge``: the one shape margin, leakage and MRR
are computed from.

Billed means lines of approved or exported batches only (a draft is not billed yet). Vendor charges are kept to the
entity's billed window (``Scope.billed_on``); a billed line is billed whatever stretch it covers (usage is billed
the month after it was used). A vendor cost line not tied
to a subscription (a one-time purchase) names its customer through the source's customer id and its product by
the vendor's product name; its ref is ``cost_line:<id>``, the name a billed line's lineage gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rating.margins import Charge
from rating.recurring import Recurring
from services.reports.scope import Scope
from services.uow import UnitOfWork

UNNAMED = "(unknown customer)"
RECURRING_KINDS = frozenset({"charge", "credit", "correction"})


def billed(uow: UnitOfWork, where: Scope) -> list[Charge]:
    rows = uow.reports.billed(list(where.tenants), where.first, where.last)
    return [Charge(row.line_key, where.tenants[row.tenant_id], row.customer, row.product_name or row.description,
                   row.subscription_id, row.period_from, row.period_to or row.period_from, row.amount, row.currency,
                   frozenset(_inputs(row.lineage))) for row in rows]


def costs(uow: UnitOfWork, where: Scope) -> list[Charge]:
    rows = uow.reports.costs(list(where.tenants), where.first, where.last)
    return [Charge(f"cost_line:{row.id}", where.tenants[row.tenant_id],
                   row.customer or row.named_customer or f"{UNNAMED} {row.customer_external_id}",
                   row.product_name or row.cost_product or row.product_id, row.subscription_id, row.charge_start,
                   row.charge_end, row.subtotal, row.currency)
            for row in rows if where.billed_on(where.tenants[row.tenant_id], row.charge_start)]


def recurring(uow: UnitOfWork, where: Scope) -> list[Recurring]:
    """Billed licence lines (not usage, not one-time purchases) as recurring amounts for MRR."""
    rows = uow.reports.billed(list(where.tenants), where.first, where.last)
    return [Recurring(where.tenants[row.tenant_id], row.customer, row.period_from, row.period_to or row.period_from,
                      row.amount, row.currency)
            for row in rows if row.kind in RECURRING_KINDS and row.subscription_id is not None
            and row.billing_type != "one_time"]


def _inputs(lineage: dict[str, Any] | None) -> Sequence[str]:
    return [ref for ref in (lineage or {}).get("input_ids", []) if isinstance(ref, str)]
