"""The ledger's tables: the single source of truth of what was seen, asked for, billed and exported.

Design notes:
- Snapshots and audit events are append-only (database triggers refuse UPDATE and DELETE; repositories offer
  neither); approved batches, numbered invoices and their lines are sealed (``ledger.append_only``).
- Money and quantities are ``ExactDecimal`` (never float) and always sit next to a currency column.
- Every invoice line has a deterministic ``line_key`` (tenant, customer, subscription, charge period, charge kind,
  version) that the ERP export uses as its external reference, so retries update or skip instead of duplicating.
- Instants are stored timezone-aware (UTC); billing days are stored as plain dates next to them, derived once.

One module per area, all on the one metadata of :mod:`ledger.models.base`: :mod:`~ledger.models.tenants` (tenants,
users, customers, subscriptions), :mod:`~ledger.models.sources` (sync runs, snapshots, usage, cost lines),
:mod:`~ledger.models.reconciliation` (mutations, provisionings, discrepancies), :mod:`~ledger.models.prices`
(price book editions, rules, list prices, FX rates), :mod:`~ledger.models.billing` (batches, invoices, lines, number
counters), :mod:`~ledger.models.operations` (exports, audit events, job runs, leases),
:mod:`~ledger.models.delivery` (deliveries, the document archive), :mod:`~ledger.models.notifications`
(the notification outbox), :mod:`~ledger.models.review` (acknowledged findings, review figures the build prepared),
:mod:`~ledger.models.payments` (bank statements, entries, payment applications, payer hints),
:mod:`~ledger.models.payment_outbox` (applied payments to the ERP, reminders) and
:mod:`~ledger.models.identity` (sessions, API tokens, sign-in attempts). Importing this package registers every
table, which Alembic's ``env.py`` and the relationships between modules rely on; callers import the classes from here.
"""

from ledger.models.base import Base, utcnow
from ledger.models.billing import CREDIT_NOTE, INVOICE, Batch, Invoice, InvoiceLine, InvoiceNumberCounter
from ledger.models.delivery import ArchivedDocument, Delivery
from ledger.models.identity import AuthSession, SignInAttempt
from ledger.models.notifications import Notification
from ledger.models.operations import AuditChain, AuditEvent, ErpDuplicate, Export, JobRun, Lease
from ledger.models.payment_outbox import PaymentExport, Reminder
from ledger.models.payments import BankEntry, BankStatement, PayerHint, PaymentApplication
from ledger.models.prices import FxRate, ListPrice, PriceImport, PriceRule
from ledger.models.reconciliation import Discrepancy, Mutation, MutationRevision, Provisioning
from ledger.models.review import BatchChange, BatchCheck, FindingAck
from ledger.models.sources import CostLine, Snapshot, SyncRun, UsageFile, UsageFileSet, UsageRow
from ledger.models.tenants import Customer, CustomerExternalId, Subscription, Tenant, User

__all__ = [
    "CREDIT_NOTE",
    "INVOICE",
    "ArchivedDocument",
    "AuditChain",
    "AuditEvent",
    "AuthSession",
    "BankEntry",
    "BankStatement",
    "Base",
    "Batch",
    "BatchChange",
    "BatchCheck",
    "CostLine",
    "Customer",
    "CustomerExternalId",
    "Delivery",
    "Discrepancy",
    "ErpDuplicate",
    "Export",
    "FindingAck",
    "FxRate",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberCounter",
    "JobRun",
    "Lease",
    "ListPrice",
    "Mutation",
    "MutationRevision",
    "Notification",
    "PayerHint",
    "PaymentApplication",
    "PaymentExport",
    "PriceImport",
    "PriceRule",
    "Provisioning",
    "Reminder",
    "SignInAttempt",
    "Snapshot",
    "Subscription",
    "SyncRun",
    "Tenant",
    "UsageFile",
    "UsageFileSet",
    "UsageRow",
    "User",
    "utcnow",
]
