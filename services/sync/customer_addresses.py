"""Customers' postal addresses taken from distributor and Microsoft data, into the fields the desk left empty.

Why only empty fields: the desk's entry is what the customer asked for (often a separate invoice address); a vendor
record is a fallback that saves typing for new customers. So a field the desk (or an earlier sync) filled is never
overwritten, and every field that is filled is audited with the source and the vendor's id it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from connectors.records import CustomerRecord
from ledger.models import Customer
from services.sync.context import Counts, IngestContext
from services.uow import UnitOfWork

FIELDS = ("street", "city", "postal_code", "country")
LIMITS = {"street": 200, "city": 100, "postal_code": 20, "country": 2}


@dataclass(frozen=True)
class VendorAddress:
    external_id: str
    values: dict[str, str]


def address_of(record: CustomerRecord) -> VendorAddress | None:
    """The address fields a vendor record carries (trimmed; a country only when it is an ISO code)."""
    values = {name: str(getattr(record, name)).strip() for name in FIELDS if getattr(record, name)}
    values = {name: value for name, value in values.items() if value and len(value) <= LIMITS[name]}
    if "country" in values:
        values["country"] = values["country"].upper()
        if not values["country"].isalpha() or len(values["country"]) != 2:
            del values["country"]
    return VendorAddress(record.external_id, values) if values else None


def fill_empty_fields(uow: UnitOfWork, context: IngestContext, addresses: Mapping[int, VendorAddress],
                      counts: Counts) -> None:
    """Copy each vendor address field into the customer's field where that is still empty; audit what was filled."""
    if not addresses:
        return
    customers = uow.session.scalars(select(Customer).where(Customer.id.in_(list(addresses)))).all()
    filled = 0
    for customer in customers:
        address = addresses[customer.id]
        taken = {name: value for name, value in address.values.items() if not getattr(customer, name)}
        if not taken:
            continue
        for name, value in taken.items():
            setattr(customer, name, value)
        uow.audit.record(f"sync:{context.source}", "customer.master_data.sync", "customer", customer.id,
                         context.tenant_id, before=dict.fromkeys(taken), after=taken,
                         detail=f"from {context.source} customer {address.external_id}", at=context.as_of)
        filled += 1
    counts.add("customer_addresses_filled", filled)
