"""Customers and their per-source external ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from ledger.models import Customer, CustomerExternalId
from ledger.repositories.base import Repository


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
