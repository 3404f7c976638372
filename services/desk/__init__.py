"""The service desk's side: licence mutations checked against the NCE rules, customers and their ERP numbers,
subscriptions with their history, and reconciliation of vendor, desk and billed with the discrepancies it raises."""

from services.desk.customer_overview import CustomerOverview, customer_overview
from services.desk.customers import CustomerView, list_customers, search_customers, set_reference
from services.desk.discrepancies import DiscrepancyView, discrepancy_kinds, list_discrepancies, resolve_discrepancy
from services.desk.master_data import CHANNELS, EDITABLE, CustomerDetail, customer_detail, update_master_data
from services.desk.mutation_preview import MutationPreview, preview_mutation
from services.desk.mutations import (
    MutationRequest,
    MutationView,
    add_mutation,
    cancel_mutation,
    list_mutations,
    show_mutation,
)
from services.desk.plausibility import NO_TICKET, parse_seats
from services.desk.provisioning import ProvisionSummary, provision
from services.desk.reconcile import ReconcileReport, reconcile
from services.desk.subscriptions import (
    QuantityAnswer,
    SubscriptionOutlook,
    SubscriptionRow,
    SubscriptionView,
    TimelineEntry,
    quantity_on_day,
    search_subscriptions,
    subscription_outlook,
    subscription_tenant,
    subscription_view,
)
from services.desk.vat_check import check_vat

__all__ = [
    "CHANNELS",
    "EDITABLE",
    "NO_TICKET",
    "CustomerDetail",
    "CustomerOverview",
    "CustomerView",
    "DiscrepancyView",
    "MutationPreview",
    "MutationRequest",
    "MutationView",
    "ProvisionSummary",
    "QuantityAnswer",
    "ReconcileReport",
    "SubscriptionOutlook",
    "SubscriptionRow",
    "SubscriptionView",
    "TimelineEntry",
    "add_mutation",
    "cancel_mutation",
    "check_vat",
    "customer_detail",
    "customer_overview",
    "discrepancy_kinds",
    "list_customers",
    "list_discrepancies",
    "list_mutations",
    "parse_seats",
    "preview_mutation",
    "provision",
    "quantity_on_day",
    "reconcile",
    "resolve_discrepancy",
    "search_customers",
    "search_subscriptions",
    "set_reference",
    "show_mutation",
    "subscription_outlook",
    "subscription_tenant",
    "subscription_view",
    "update_master_data",
]
