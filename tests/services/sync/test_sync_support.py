"""Vendor-side stand-ins for the sync tests: records as a connector returns them, and a reader serving them.

The reader is the connector boundary (an external system), not our own code: the sync, mapping and ledger run for
real on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from config import Settings
from config.schema import SourceConfig
from connectors.records import CostLineRecord, CustomerRecord, LicenceRecord, PullResult, UsageRecord
from services.sync import SourcePull

UTC = dt.UTC


def night(day: int, month: int = 5) -> dt.datetime:
    """02:30 Amsterdam time on a day of 2026 (00:30 UTC in summer)."""
    return dt.datetime(2026, month, day, 0, 30, tzinfo=UTC)


def licence(sub: str, quantity: int | str, customer: str = "c1", **fields: Any) -> LicenceRecord:
    base = LicenceRecord(
        source="pax8",
        source_account_id="acct",
        customer_external_id=customer,
        customer_name=f"Customer {customer}",
        subscription_external_id=sub,
        line_external_id=sub,
        product_id="P-E3",
        product_name="Example 365 E3",
        quantity=Decimal(quantity),
        currency="EUR",
        billing_frequency="P1M",
        billing_type="license",
        status="active",
        status_raw="Active",
        as_of=night(1),
        commitment_term="P1Y",
        term_start=dt.date(2026, 3, 10),
        term_end=dt.date(2027, 3, 9),
        auto_renew=True,
        unit_cost=Decimal("28.10"),
        raw={"id": sub, "quantity": Decimal(quantity), "price": Decimal("33.2")},
    )
    return replace(base, **fields)


def customer(external_id: str, **fields: Any) -> CustomerRecord:
    return CustomerRecord(source="pax8", external_id=external_id, name=f"Customer {external_id}", **fields)


def usage(key: str, day: dt.date, cost: str, customer_id: str = "c1") -> UsageRecord:
    return UsageRecord(
        source="azure_costs", row_key=key, customer_external_id=customer_id, subscription_external_id="az-1",
        usage_date=day, meter_id="m1", meter_name="D2s v5", meter_category="Virtual Machines",
        resource_group="rg", resource_location="westeurope", tags=(("env", "Prod"),), quantity=Decimal("24"),
        cost=Decimal(cost), currency="EUR",
    )


def cost_line(line_id: str, subtotal: str, sub: str = "s1") -> CostLineRecord:
    return CostLineRecord(
        source="pax8", line_id=line_id, customer_external_id="c1", subscription_external_id=sub,
        product_id="P-E3", charge_type="cycleCharge", charge_start=dt.date(2026, 5, 1),
        charge_end=dt.date(2026, 5, 31), quantity=Decimal(10), unit_price=Decimal("28.1"),
        subtotal=Decimal(subtotal), currency="EUR", raw={"amount": Decimal(subtotal)},
    )


@dataclass
class Vendor:
    """What each source answers tonight: a pull, or an exception (unavailable, crash between pages)."""

    answers: dict[str, PullResult | Exception] = field(default_factory=dict)
    windows: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def open(self, settings: Settings, config: SourceConfig) -> Vendor.Reader:
        return Vendor.Reader(self, config.name)

    @dataclass
    class Reader:
        vendor: Vendor
        name: str

        def read(self, as_of: dt.datetime) -> SourcePull:
            self.vendor.reads.append(self.name)
            answer = self.vendor.answers.get(self.name, PullResult())
            if isinstance(answer, Exception):
                raise answer
            return SourcePull(answer, self.vendor.windows.get(self.name))
