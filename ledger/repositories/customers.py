"""Customers and their per-source external ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select

from ledger.models import Customer, CustomerExternalId
from ledger.repositories.base import Repository
from ledger.repositories.bulk_insert import insert_rows, insert_rows_returning_ids


class CustomerRepository(Repository):
    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def by_external_id(self, source: str, external_id: str) -> Customer | None:
        return self.session.scalar(
            select(Customer)
            .join(CustomerExternalId)
            .where(CustomerExternalId.source == source, CustomerExternalId.external_id == external_id)
        )

    def by_reference(self, tenant_id: int, reference: str) -> Customer | None:
        return self.session.scalar(
            select(Customer).where(Customer.tenant_id == tenant_id, Customer.reference == reference)
        )

    def add(self, tenant_id: int, name: str, **fields: object) -> Customer:
        customer = Customer(tenant_id=tenant_id, name=name, **fields)
        self.session.add(customer)
        self.session.flush()
        return customer

    def link(self, customer: Customer, source: str, external_id: str) -> CustomerExternalId:
        """Record how ``source`` names this customer (idempotent)."""
        existing = self.session.scalar(
            select(CustomerExternalId).where(
                CustomerExternalId.source == source, CustomerExternalId.external_id == external_id
            )
        )
        if existing is not None:
            return existing
        link = CustomerExternalId(customer_id=customer.id, source=source, external_id=external_id)
        self.session.add(link)
        self.session.flush()
        return link

    def search(self, tenant_ids: Sequence[int], text: str = "", limit: int = 50, offset: int = 0) -> Sequence[Customer]:
        query = select(Customer).where(Customer.tenant_id.in_(tenant_ids))
        if text:
            like = f"%{text}%"
            query = query.where(or_(Customer.name.ilike(like), Customer.reference.ilike(like)))
        return self.session.scalars(query.order_by(Customer.name).limit(limit).offset(offset)).all()

    def external_id_map(self, source: str, tenant_id: int | None = None) -> dict[str, int]:
        """``{external id: customer id}`` of one source (optionally one tenant), loaded once for a bulk sync."""
        query = select(CustomerExternalId.external_id, CustomerExternalId.customer_id).where(
            CustomerExternalId.source == source
        )
        if tenant_id is not None:
            query = query.join(Customer).where(Customer.tenant_id == tenant_id)
        return dict(self.core_rows(query).tuples().all())

    def reference_map(self, tenant_id: int) -> dict[str, int]:
        """``{reference: customer id}`` of one tenant (the ERP customer number is the join key across sources)."""
        query = select(Customer.reference, Customer.id).where(
            Customer.tenant_id == tenant_id, Customer.reference.is_not(None)
        )
        return dict(self.core_rows(query).tuples().all())

    def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert customers in one statement batch; returns their ids in the order of ``rows``."""
        return insert_rows_returning_ids(self.session, Customer.__table__, rows)

    def link_many(self, links: Iterable[tuple[int, str, str]]) -> int:
        """Record many ``(customer id, source, external id)`` names at once (callers pass only new ones)."""
        rows = [{"customer_id": c, "source": s, "external_id": e} for c, s, e in links]
        return insert_rows(self.session, CustomerExternalId.__table__, rows)
