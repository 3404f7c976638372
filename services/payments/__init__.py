"""Payments in: bank statements imported once (``imports``), entries matched to invoices and applied
(``applying``, rules in :mod:`rating.payments`), the review queue's decisions (``queue``) and what finance reads
(``views``), and the overdue list with dunning levels (``dunning``)."""

from rating.payments.reference import creditor_reference, printed
from services.payments.dunning import overdue_items
from services.payments.imports import ImportResult, import_statement
from services.payments.queue import Decision, accept, reassign, unapply
from services.payments.views import list_entries, open_items, straight_through

__all__ = [
    "Decision",
    "ImportResult",
    "accept",
    "creditor_reference",
    "import_statement",
    "list_entries",
    "open_items",
    "overdue_items",
    "printed",
    "reassign",
    "straight_through",
    "unapply",
]
