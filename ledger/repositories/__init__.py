"""Repositories by aggregate. ``REPOSITORIES`` names them for the unit of work (``uow.snapshots`` and so on).

Add a repository by writing its module and one line here; nothing else needs to change.
"""

from ledger.repositories.audit import AuditRepository
from ledger.repositories.batches import BatchRepository
from ledger.repositories.cost_lines import CostLineRepository
from ledger.repositories.customers import CustomerRepository
from ledger.repositories.deliveries import ArchiveRepository, DeliveryRepository
from ledger.repositories.discrepancies import DiscrepancyRepository
from ledger.repositories.exports import ExportRepository
from ledger.repositories.fx_rates import FxRateRepository
from ledger.repositories.invoices import InvoiceRepository
from ledger.repositories.jobs import JobRunRepository, LeaseRepository
from ledger.repositories.mutations import MutationRepository
from ledger.repositories.notifications import NotificationRepository
from ledger.repositories.payment_outbox import PaymentOutboxRepository
from ledger.repositories.payments import PaymentRepository
from ledger.repositories.prices import PriceRepository
from ledger.repositories.provisionings import ProvisioningRepository
from ledger.repositories.reports import ReportRepository
from ledger.repositories.review import ReviewRepository
from ledger.repositories.sessions import SessionRepository, SignInAttemptRepository
from ledger.repositories.snapshots import SnapshotRepository
from ledger.repositories.subscriptions import SubscriptionRepository
from ledger.repositories.sync_runs import SyncRunRepository
from ledger.repositories.tenants import TenantRepository, UserRepository
from ledger.repositories.usage import UsageRepository

REPOSITORIES = {
    "archive": ArchiveRepository,
    "audit": AuditRepository,
    "batches": BatchRepository,
    "cost_lines": CostLineRepository,
    "customers": CustomerRepository,
    "deliveries": DeliveryRepository,
    "discrepancies": DiscrepancyRepository,
    "exports": ExportRepository,
    "fx_rates": FxRateRepository,
    "invoices": InvoiceRepository,
    "job_runs": JobRunRepository,
    "leases": LeaseRepository,
    "mutations": MutationRepository,
    "notifications": NotificationRepository,
    "payments": PaymentRepository,
    "payments_out": PaymentOutboxRepository,
    "prices": PriceRepository,
    "provisionings": ProvisioningRepository,
    "reports": ReportRepository,
    "review": ReviewRepository,
    "sessions": SessionRepository,
    "sign_in_attempts": SignInAttemptRepository,
    "snapshots": SnapshotRepository,
    "subscriptions": SubscriptionRepository,
    "sync_runs": SyncRunRepository,
    "tenants": TenantRepository,
    "usage": UsageRepository,
    "users": UserRepository,
}
