"""The tenant's price book for a batch, from the ledger: the rules themselves are ``rating.pricing``'s.

This module maps what the ledger holds (rule versions and list prices with the import, the *edition*, that recorded
them; vendor cost lines; customers; subscriptions) into the rating engine's plain types. A config import replaces the
config import before it (config.yaml holds the whole set), so its rules are retired from the next config edition on;
rules from files and list prices accumulate. Labels name the rule's ledger id (and its config entry), which is what
each line's lineage shows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ledger.models import CostLine, Customer, Subscription
from rating.pricing import (
    Basis,
    FixedPrice,
    Licence,
    ListPrice,
    MarkupRule,
    Markups,
    PriceBook,
    PricedCustomer,
    VendorCost,
    Versioned,
)

BILLING_PLANS = {"Monthly": "P1M", "Annual": "P1Y", "Triennial": "P3Y"}


def rule_label(rule_id: int, name: str | None) -> str:
    return f"price rule {rule_id}" + (f" ({name})" if name else "")


def price_book(tenant: str, rules: Sequence[Any], list_prices: Sequence[Any], config_imports: Sequence[int],
               cost_lines: Sequence[CostLine] = ()) -> PriceBook:
    """The price book of ``tenant`` for one build: rule rows (``PriceRepository.rules``), list-price rows, the ids of
    the config imports in order, and vendor cost lines, all as read-only ledger rows."""
    fixed: list[FixedPrice] = []
    markups: list[MarkupRule] = []
    for row in rules:
        retired = None
        if row.kind == "config":
            later = bisect_right(config_imports, row.import_id)
            retired = config_imports[later] if later < len(config_imports) else None
        version = Versioned(row.valid_from, row.valid_to, row.import_id, retired)
        label = rule_label(row.id, row.name)
        if row.unit_price is not None:
            fixed.append(FixedPrice(label, row.unit_price, row.tenant_code, row.customer, row.product,
                                    row.meter_category, row.billing, row.currency, version, row.id))
        else:
            markups.append(MarkupRule(label, row.percent, row.tenant_code, row.customer, row.product,
                                      row.meter_category, basis=Basis(row.basis or "cost"), billing=row.billing,
                                      version=version, seq=row.id))
    return PriceBook(
        tenant,
        fixed=fixed,
        markups=Markups(tuple(markups)),
        list_prices=[ListPrice(row.id, f"{row.product_id}:{row.sku_id}", row.term,
                               BILLING_PLANS.get(row.billing_plan, row.billing_plan), row.currency, row.unit_price,
                               row.erp_price, Versioned(row.valid_from, row.valid_to, row.import_id))
                     for row in list_prices],
        costs=[VendorCost(line.id, line.subscription_id, line.product_id, line.unit_price, line.charge_start,
                          line.charge_end)
               for line in cost_lines],
    )


def priced(customer: Customer) -> PricedCustomer:
    """A ledger customer as price rules see it."""
    return PricedCustomer(customer.id, customer.name, customer.reference)


def licence(sub: Subscription, customer: Customer, product: str) -> Licence:
    """A subscription's licence of ``product`` as the price book sees it: Partner Center product and SKU ids make the
    ``ProductId:SkuId`` key of Microsoft's price list."""
    keys = (f"{product}:{sub.sku}",) if sub.sku and product == sub.product_id else ()
    return Licence(product, priced(customer), sub.billing, sub.currency, sub.term, keys)
