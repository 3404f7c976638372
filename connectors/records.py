"""Typed, frozen records the connectors return: the only shape vendor data has inside cspbill.

The licence record follows the normalized model of shared/reference/distributors.md §5: one record per
(source, subscription line, snapshot time), complete, with the raw vendor payload for audit and replay.
Money is ``Decimal`` with its currency; instants are timezone-aware UTC; ``term_end`` is inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from connectors.errors import MalformedRecord

Source = Literal["partner_center", "pax8", "ingram_cmp", "azure_costs"]
Status = Literal["active", "pending", "suspended", "cancelled", "trial", "other"]
Duration = Literal["P1M", "P1Y", "P2Y", "P3Y"]
BillingFrequency = Literal["P1M", "P1Y", "P2Y", "P3Y", "ONE_TIME", "USAGE"]
BillingType = Literal["license", "usage", "one_time", "trial"]


@dataclass(frozen=True)
class CustomerRecord:
    """A customer as one source knows it."""

    source: str
    external_id: str
    name: str
    reference: str | None = None  # the reseller's own id stored at the source (ERP join key)
    tenant_id: str | None = None  # Microsoft (Entra) tenant id when known
    country: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LicenceRecord:
    """One seat-bearing subscription line at one moment (distributors.md §5)."""

    source: str
    source_account_id: str
    customer_external_id: str
    customer_name: str
    subscription_external_id: str
    line_external_id: str
    product_id: str
    product_name: str
    quantity: Decimal
    currency: str
    billing_frequency: BillingFrequency
    billing_type: BillingType
    status: Status
    status_raw: str
    as_of: datetime
    commitment_term: Duration | None = None
    sku: str | None = None
    vendor_sku: str | None = None
    customer_reference: str | None = None
    customer_tenant_id: str | None = None
    vendor_subscription_id: str | None = None
    parent_subscription_id: str | None = None
    assigned_quantity: Decimal | None = None
    unit_cost: Decimal | None = None
    unit_cost_field: str | None = None
    unit_price: Decimal | None = None
    term_start: date | None = None
    term_end: date | None = None  # inclusive
    renewal_date: date | None = None
    auto_renew: bool | None = None
    cancellation_allowed_until: datetime | None = None
    refundable_batches: tuple[tuple[Decimal, datetime], ...] = ()  # (seats, reducible until) per seat batch
    source_updated_at: datetime | date | None = None  # a plain date where the source sends only dates
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class UsageRecord:
    """One day of Azure consumption for one (subscription, resource group, meter, tag set): cost as delivered."""

    source: str
    row_key: str  # deterministic identity of the source row, so restated days replace instead of append
    customer_external_id: str
    subscription_external_id: str
    usage_date: date
    meter_id: str
    meter_name: str
    meter_category: str
    resource_group: str | None
    resource_location: str | None
    tags: tuple[tuple[str, str], ...]
    quantity: Decimal
    cost: Decimal  # unrounded, exactly as the source delivered it
    currency: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CostLineRecord:
    """What the vendor billed the reseller for a stretch (Partner Center recon line, distributor invoice item)."""

    source: str
    line_id: str
    customer_external_id: str
    subscription_external_id: str
    product_id: str
    charge_type: str
    charge_start: date
    charge_end: date  # inclusive
    quantity: Decimal
    unit_price: Decimal
    subtotal: Decimal
    currency: str
    reference_id: str | None = None
    invoice_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PullResult:
    """Everything one complete read of a source produced, plus the records that could not be mapped.

    Why a result instead of a list: a pull either completes (every page read) or raises; within a complete pull a
    malformed record is reported in ``errors`` (naming source, record id and field) while the valid records around
    it still come through, so one bad row never hides a night's snapshot and never looks like a cancellation.
    """

    customers: tuple[CustomerRecord, ...] = ()
    licences: tuple[LicenceRecord, ...] = ()
    usage: tuple[UsageRecord, ...] = ()
    cost_lines: tuple[CostLineRecord, ...] = ()
    errors: tuple[MalformedRecord, ...] = ()
