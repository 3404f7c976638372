"""Quantity-and-price timelines → charge, credit and rebill lines for a window (billing-rules.md §4).

A subscription is a start state plus dated changes; every change takes effect at the **start** of its day, so the
new state owns that day. Each charge period (a billing period clipped to the subscription's start) is charged with
the state in force on its first day; a change strictly inside it credits the line that charged the old state for
``[change, period end]`` and charges the new state for the same days ("wipe and recreate", as Partner Center
does). Credits come from what was charged, never re-priced, and are capped by what remains of the credited line.
All dates are calendar dates; all end dates are inclusive.

The package holds one job per module: :mod:`~rating.proration.terms` (what is rated), :mod:`~rating.proration.lines`
(what rating produces), :mod:`~rating.proration.timeline` (the states in force), :mod:`~rating.proration.credits`
(credits from what was invoiced) and :mod:`~rating.proration.rate` (the entry point and the charges). Its public
names are exposed here, so callers import them from ``rating.proration``.
"""

from rating.proration.credits import credit_invoiced
from rating.proration.lines import InvoicedLine, LineKey, LineKind, PlainLine, RatedLine
from rating.proration.rate import rate_subscription
from rating.proration.terms import Change, PricePolicy, SubscriptionTerms, Timing, Window

__all__ = [
    "Change",
    "InvoicedLine",
    "LineKey",
    "LineKind",
    "PlainLine",
    "PricePolicy",
    "RatedLine",
    "SubscriptionTerms",
    "Timing",
    "Window",
    "credit_invoiced",
    "rate_subscription",
]
