"""The ledger's tables: the single source of truth of what was seen, asked for, billed and exported.

Design notes:
- Snapshots are append-only (database triggers refuse UPDATE and DELETE; repositories offer neither).
- Money and quantities are ``ExactDecimal`` (never float) and always sit next to a currency column.
- Every invoice line has a deterministic ``line_key`` (tenant, customer, subscription, charge period, charge kind,
  version) that the ERP export uses as its external reference, so retries update or skip instead of duplicating.
- Instants are stored timezone-aware (UTC); billing days are stored as plain dates next to them, derived once.

One module per area, all on the one metadata of :mod:`ledger.models.base`: :mod:`~ledger.models.tenants` (tenants,
users, customers, subscriptions), :mod:`~ledger.models.sources` (sync runs, snapshots, usage, cost lines),
:mod:`~ledger.models.reconciliation` (mutations, discrepancies), :mod:`~ledger.models.prices` (price book editions,
rules, list prices, FX rates), :mod:`~ledger.models.billing` (batches, invoices, lines, number counters) and
:mod:`~ledger.models.operations` (exports, audit events, job runs, leases). Importing this package registers every
table, which Alembic's ``env.py`` and the relationships between modules rely on; callers import the classes from here.
"""

from ledger.models.base import Base, utcnow
from ledger.models.billing import Batch, Invoice, InvoiceLine, InvoiceNumberCounter
from ledger.models.operations import AuditEvent, ErpDuplicate, Export, JobRun, Lease
from ledger.models.prices import FxRate, ListPrice, PriceImport, PriceRule
from ledger.models.reconciliation import Discrepancy, Mutation
from ledger.models.sources import CostLine, Snapshot, SyncRun, UsageRow
from ledger.models.tenants import Customer, CustomerExternalId, Subscription, Tenant, User

__all__ = [
    "AuditEvent",
    "Base",
    "Batch",
    "CostLine",
    "Customer",
    "CustomerExternalId",
    "Discrepancy",
    "ErpDuplicate",
    "Export",
    "FxRate",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberCounter",
    "JobRun",
    "Lease",
    "ListPrice",
    "Mutation",
    "PriceImport",
    "PriceRule",
    "Snapshot",
    "Subscription",
    "SyncRun",
    "Tenant",
    "UsageRow",
    "User",
    "utcnow",
]
