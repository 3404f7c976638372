"""The service desk's side: licence mutations checked against the NCE rules, customers and their ERP numbers,
subscriptions with their history, and reconciliation of vendor, desk and billed with the discrepancies it raises."""

from services.desk.customer_overview import CustomerOverview, customer_overview
from services.desk.customers import CustomerView, list_customers, search_customers, set_reference
from services.desk.discrepancies import (
    SORT_ORDERS,
    DiscrepancyView,
    FindingList,
    FindingQuery,
    act_on_discrepancies,
    assign_discrepancies,
    discrepancy_kinds,
    find_discrepancies,
    finding_owners,
    list_discrepancies,
    resolve_discrepancy,
)
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
    "SORT_ORDERS",
    "CustomerDetail",
    "CustomerOverview",
    "CustomerView",
    "DiscrepancyView",
    "FindingList",
    "FindingQuery",
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
    "act_on_discrepancies",
    "add_mutation",
    "assign_discrepancies",
    "cancel_mutation",
    "check_vat",
    "customer_detail",
    "customer_overview",
    "discrepancy_kinds",
    "find_discrepancies",
    "finding_owners",
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
