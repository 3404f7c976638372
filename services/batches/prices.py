"""The tenant's price book for a batch, from the ledger and config: the rules themselves are ``rating.pricing``'s.

This module only maps what the ledger and config.yaml hold (price-list versions, ``price_rules`` with a fixed price
or a markup, vendor cost lines, customers) into the rating engine's plain types; the ids it gives them
(``price_rules[index]``, the version and cost-line ids) are what each line's lineage names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from config.schema import PriceRule
from ledger.models import CostLine, Customer, PriceListVersion
from rating.pricing import FixedPrice, ListPrice, MarkupRule, Markups, PriceBook, PricedCustomer, VendorCost


def price_book(tenant: str, versions: Sequence[PriceListVersion], rules: Sequence[PriceRule],
               cost_lines: Sequence[CostLine] = ()) -> PriceBook:
    """The price book of ``tenant`` for one build (versions and cost lines as read-only ledger rows)."""
    return PriceBook(
        tenant,
        [ListPrice(v.id, v.product_id, v.billing, v.unit_price, v.valid_from, v.valid_to, v.customer_id)
         for v in versions],
        [FixedPrice(f"price_rules[{index}]", rule.unit_price, rule.tenant, rule.customer, rule.product,
                    rule.meter_category, rule.valid_from)
         for index, rule in enumerate(rules) if rule.unit_price is not None],
        markups(rules),
        [VendorCost(line.id, line.subscription_id, line.product_id, line.unit_price, line.charge_start)
         for line in cost_lines],
    )


def priced(customer: Customer) -> PricedCustomer:
    """A ledger customer as price rules see it."""
    return PricedCustomer(customer.id, customer.name, customer.reference)


def markups(rules: Sequence[PriceRule]) -> Markups:
    """The config's markup rules for ``rating.pricing`` (most specific wins; ids name the config entry)."""
    return Markups(tuple(
        MarkupRule(f"price_rules[{index}]", rule.markup_percent, rule.tenant, rule.customer, rule.product,
                   rule.meter_category, rule.valid_from or dt.date.min)
        for index, rule in enumerate(rules) if rule.markup_percent is not None))
