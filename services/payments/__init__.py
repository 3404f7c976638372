"""Payments in: bank statements imported once (``imports``), entries matched to invoices and applied
(``applying``, rules in :mod:`rating.payments`), the review queue's decisions (``queue``) and what finance reads
(``views``), and the overdue list with dunning levels (``dunning``). Payments out: applied payments to the ERP
(``erp_outbox``), reminders by e-mail (``reminders``) and the statement of account (``statement``)."""

from rating.payments.reference import creditor_reference, printed
from services.payments.dunning import overdue_items
from services.payments.erp_outbox import PaymentExportSummary, export_due_payments, export_payments
from services.payments.imports import ImportResult, import_statement
from services.payments.queue import Decision, accept, reassign, unapply
from services.payments.reminders import ReminderSummary, remind_due, reminder_list, send_reminders
from services.payments.statement import statement_of_account
from services.payments.views import days_to_pay, list_entries, open_items, straight_through

__all__ = [
    "Decision",
    "ImportResult",
    "PaymentExportSummary",
    "ReminderSummary",
    "accept",
    "creditor_reference",
    "days_to_pay",
    "export_due_payments",
    "export_payments",
    "import_statement",
    "list_entries",
    "open_items",
    "overdue_items",
    "printed",
    "reassign",
    "remind_due",
    "reminder_list",
    "send_reminders",
    "statement_of_account",
    "straight_through",
    "unapply",
]
