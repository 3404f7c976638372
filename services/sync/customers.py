"""Vendor customers -> ledger customers for one pull.

Customers are matched by the source's id, then by Microsoft tenant id (kept as the external id of the pseudo source
``entra``), then by the reseller's reference (ERP number). A vendor customer that matches nothing is *created* (its
licences and usage must not be dropped) in the source's legal entity; when it has licences or usage and no
reference, an ``unmapped_customer`` discrepancy asks the desk to set its ERP reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.records import PullResult
from services.sync.context import Counts, IngestContext
from services.sync.customer_addresses import VendorAddress, address_of, fill_empty_fields
from services.uow import UnitOfWork

ENTRA = "entra"  # pseudo source: a customer's Microsoft (Entra) tenant id, the join key across sources

@dataclass(frozen=True)
class _Seen:
    name: str
    reference: str | None
    entra_tenant: str | None
    country: str | None
    billable: bool  # has licences or usage in this pull: a created customer without reference is then flagged


class CustomerResolver:
    """Vendor customer ids -> ledger customer ids for one source, creating (and flagging) the unknown ones."""

    def __init__(self, uow: UnitOfWork, context: IngestContext, counts: Counts) -> None:
        self.uow, self.context, self.counts = uow, context, counts
        self.by_source = uow.customers.external_id_map(context.source)
        self.by_entra = uow.customers.external_id_map(ENTRA, context.tenant_id)
        self.entra_taken = set(uow.customers.external_id_map(ENTRA))
        self.by_reference = uow.customers.reference_map(context.tenant_id)

    def resolve_all(self, result: PullResult) -> None:
        seen: dict[str, _Seen] = {}
        addresses: dict[str, VendorAddress] = {}
        used = {row.customer_external_id for row in result.usage}
        for customer in result.customers:
            address = address_of(customer)
            if address is not None:
                addresses[customer.external_id] = address
            seen[customer.external_id] = _Seen(customer.name, customer.reference, customer.tenant_id,
                                               customer.country,
                                               customer.external_id in used or customer.tenant_id in used)
        for licence in result.licences:
            known = seen.get(licence.customer_external_id)
            if known is not None and known.billable and (
                    (known.reference or licence.customer_reference) == known.reference
                    and (known.entra_tenant or licence.customer_tenant_id) == known.entra_tenant):
                continue  # a customer's next licence that adds nothing (a night repeats each customer per licence)
            seen[licence.customer_external_id] = _Seen(
                known.name if known else licence.customer_name,
                (known.reference if known else None) or licence.customer_reference,
                (known.entra_tenant if known else None) or licence.customer_tenant_id,
                known.country if known else None,
                True,
            )
        self.counts.add("customers_seen", len(seen))
        self._resolve(seen)
        fill_empty_fields(self.uow, self.context, {self.by_source[external_id]: address
                                                   for external_id, address in addresses.items()
                                                   if external_id in self.by_source}, self.counts)

    def _resolve(self, seen: dict[str, _Seen]) -> None:
        links: list[tuple[int, str, str]] = []
        create: list[tuple[str, _Seen]] = []
        for external_id, info in seen.items():
            customer_id = self.by_source.get(external_id)
            if customer_id is None:
                customer_id = (self.by_entra.get(info.entra_tenant or "")
                               or self.by_reference.get(info.reference or ""))
                if customer_id is None:
                    create.append((external_id, info))
                    continue
                self.by_source[external_id] = customer_id
                links.append((customer_id, self.context.source, external_id))
            links += self._entra_link(customer_id, info)
        ids = self.uow.customers.add_many([
            {"tenant_id": self.context.tenant_id, "name": info.name, "reference": info.reference,
             "country": info.country, "is_business": True, "created_at": self.context.as_of}
            for _, info in create
        ])
        for (external_id, info), customer_id in zip(create, ids, strict=True):
            self.by_source[external_id] = customer_id
            links.append((customer_id, self.context.source, external_id))
            links += self._entra_link(customer_id, info)
            if info.reference:
                self.by_reference[info.reference] = customer_id
            elif info.billable:
                self._flag_unmapped(external_id, info, customer_id)
        self.uow.customers.link_many(links)
        self.counts.add("customers_created", len(create))

    def _entra_link(self, customer_id: int, info: _Seen) -> list[tuple[int, str, str]]:
        tenant = info.entra_tenant
        if not tenant or tenant in self.entra_taken:
            return []
        self.entra_taken.add(tenant)
        self.by_entra[tenant] = customer_id
        return [(customer_id, ENTRA, tenant)]

    def _flag_unmapped(self, external_id: str, info: _Seen, customer_id: int) -> None:
        sentence = (
            f"{self.context.source} customer {info.name!r} ({external_id}) matched no ledger customer by id, "
            f"Microsoft tenant or reference: created customer {customer_id} without an ERP reference; set it"
        )
        _, created = self.uow.discrepancies.raise_(
            f"unmapped_customer:{self.context.source}:{external_id}", self.context.as_of,
            tenant_id=self.context.tenant_id, customer_id=customer_id, kind="unmapped_customer",
            day=self.context.observed_on, sentence=sentence,
            details={"source": self.context.source, "external_id": external_id},
        )
        self.counts.add("discrepancies_raised", int(created))

    def lookup(self, external_id: str) -> int | None:
        """A customer id for usage/cost rows: by this source's id, else by Microsoft tenant id (no creation)."""
        return self.by_source.get(external_id) or self.by_entra.get(external_id)
