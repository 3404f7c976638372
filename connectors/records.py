"""Typed, frozen records the connectors return: the only shape vendor data has inside cspbill.

The licence record follows the normalized model of shared/reference/distributors.md §5: one record per
(source, subscription line, snapshot time), complete, with the raw vendor payload for audit and replay.
Money is ``Decimal`` with its currency; instants are timezone-aware UTC; ``term_end`` is inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from connectors.errors import MalformedRecord
from connectors.json_body import Unpaired

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
    # The postal address where the source has one (Pax8 Company.address, CMP Customer.address, Partner Center
    # billingProfile.defaultAddress); the sync fills only a ledger customer's empty fields from it.
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None


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
    billing_type: BillingType | None = None  # None: the source does not say (never guessed)
    order_id: str | None = None
    ordered_on: date | None = None  # the day the order (purchase, refund, cancellation) was placed
    product_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice the vendor issued to the reseller: which billing period it closes (discovery of recon data)."""

    source: str
    invoice_id: str
    period_start: date
    period_end: date  # inclusive
    currency: str | None = None
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


def parse_instant(text: str) -> datetime:
    """A vendor date-time as a UTC instant, whatever ISO 8601 spelling it came in (distributors.md §6.4).

    Accepts ``…Z``, ``+00:00``, colon-less offsets (``-0700``), fractions of any length and date-only values (read as
    midnight). A value without a zone is taken as UTC: the vendors in scope state their API times in UTC.
    Raises ``ValueError`` for anything else.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_day(text: str) -> date:
    """The calendar day a vendor wrote, from a date-only value or the date part of a date-time.

    Why the written date and not the UTC date: a term that "starts 2026-02-01T00:00:00+02:00" starts on the 1st for
    the vendor and the customer; converting to UTC first would move it to the 31st.
    """
    return date.fromisoformat(text.strip()[:10])


class FieldReader:
    """Reads typed values out of one raw vendor record; every problem becomes a ``MalformedRecord`` naming the field.

    Why one reader: each connector must report the same things the same way (source, record id, field path such as
    ``products[1].unitCost.amount``) so the desk can chase the record, and money must never pass through float.
    """

    def __init__(self, source: str, record_id: str, raw: Any, prefix: str = "") -> None:
        self.source = source
        self.record_id = record_id
        self.raw = raw if isinstance(raw, dict) else {}
        self.prefix = prefix
        if not isinstance(raw, dict):
            raise self.fail("", "is not a JSON object")
        if isinstance(raw, Unpaired):
            raise self.fail(raw.path, "holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff without its "
                                      "pair), which is not text")

    def fail(self, name: str, problem: str) -> MalformedRecord:
        """The error to raise for ``name`` (a dotted path below this reader's prefix)."""
        return MalformedRecord(self.source, self.record_id, f"{self.prefix}{name}" or "<record>", problem)

    def get(self, name: str) -> Any:
        """The value at a dotted path, ``None`` when any step is missing or null."""
        value: Any = self.raw
        for part in name.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def nested(self, name: str, index: int | None = None) -> FieldReader:
        """A reader for a nested object (``index`` picks a list element), reporting paths like ``products[0].id``."""
        value = self.get(name)
        path = f"{self.prefix}{name}"
        if index is not None:
            value = value[index] if isinstance(value, list) and index < len(value) else None
            path = f"{path}[{index}]"
        if not isinstance(value, dict):
            raise self.fail(name if index is None else f"{name}[{index}]", "is missing or not an object")
        return FieldReader(self.source, self.record_id, value, f"{path}.")

    def maybe_text(self, name: str) -> str | None:
        """Text, or ``None`` when missing, null or empty."""
        value = self.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, (dict, list, bool)):
            raise self.fail(name, f"expected text, got {type(value).__name__}")
        return str(value)

    def maybe_decimal(self, name: str, minimum: Decimal | None = None) -> Decimal | None:
        """A JSON number (already ``Decimal`` when parsed with ``parse_float=Decimal``) or a numeric string."""
        value = self.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise self.fail(name, f"expected a number, got {value!r}")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except ArithmeticError:
            raise self.fail(name, f"not a number: {value!r}") from None
        if not number.is_finite():
            raise self.fail(name, f"not a finite number: {value!r}")
        if minimum is not None and number < minimum:
            raise self.fail(name, f"{number} is below {minimum}")
        return number

    def maybe_instant(self, name: str) -> datetime | None:
        value = self.maybe_text(name)
        if value is None:
            return None
        try:
            return parse_instant(value)
        except ValueError:
            raise self.fail(name, f"not a date-time: {value!r}") from None

    def maybe_day(self, name: str) -> date | None:
        value = self.maybe_text(name)
        if value is None:
            return None
        try:
            return parse_day(value)
        except ValueError:
            raise self.fail(name, f"not a date: {value!r}") from None

    def text(self, name: str) -> str:
        return self._required(name, self.maybe_text(name))

    def decimal(self, name: str, minimum: Decimal | None = None) -> Decimal:
        return self._required(name, self.maybe_decimal(name, minimum))

    def day(self, name: str) -> date:
        return self._required(name, self.maybe_day(name))

    def _required(self, name: str, value: Any) -> Any:
        if value is None:
            raise self.fail(name, "is missing")
        return value

    def currency(self, name: str) -> str:
        value = self.text(name)
        if len(value) != 3 or not value.isalpha():
            raise self.fail(name, f"not an ISO 4217 code: {value!r}")
        return value.upper()
