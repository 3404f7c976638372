"""The price book's editions, rules and Microsoft list prices, and recorded exchange rates.

Why one repository: an import, its rows and the edition number a batch records are written and read together, and a
batch build reads a tenant's whole book at once (rules are few; list prices a few thousand rows), never per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, or_, select

from ledger.models import Customer, FxRate, ListPrice, PriceImport, PriceRule, Snapshot, Subscription, UsageRow
from ledger.repositories.base import Repository
from ledger.repositories.bulk_insert import insert_rows


class PriceRepository(Repository):
    def add_import(self, **fields: object) -> PriceImport:
        edition = PriceImport(**fields)
        self.session.add(edition)
        self.session.flush()
        return edition

    def add_rules(self, import_id: int, rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(self.session, PriceRule.__table__, [{**row, "import_id": import_id} for row in rows])

    def add_list_prices(self, import_id: int, rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(self.session, ListPrice.__table__, [{**row, "import_id": import_id} for row in rows])

    def find_import(self, kind: str, sha256: str) -> PriceImport | None:
        return self.session.scalar(select(PriceImport).where(PriceImport.kind == kind, PriceImport.sha256 == sha256))

    def get_import(self, import_id: int) -> PriceImport | None:
        return self.session.get(PriceImport, import_id)

    def latest_import(self, kind: str) -> PriceImport | None:
        return self.session.scalar(select(PriceImport).where(PriceImport.kind == kind)
                                   .order_by(PriceImport.id.desc()).limit(1))

    def imports(self, limit: int = 100) -> Sequence[PriceImport]:
        """Editions, newest first."""
        return self.session.scalars(select(PriceImport).order_by(PriceImport.id.desc()).limit(limit)).all()

    def edition(self) -> int | None:
        """The current edition of the price book: the last import's id (``None`` before the first)."""
        return self.session.scalar(select(func.max(PriceImport.id)))

    def first_edition(self) -> int | None:
        return self.session.scalar(select(func.min(PriceImport.id)))

    def config_imports(self) -> list[int]:
        """Ids of the config imports in order: each replaces the one before (config holds the whole set)."""
        return list(self.session.scalars(select(PriceImport.id).where(PriceImport.kind == "config")
                                         .order_by(PriceImport.id)))

    def reprices(self, tenant_code: str) -> Sequence[PriceImport]:
        """The reprices of one legal entity (its own and those of every legal entity), oldest first."""
        return self.session.scalars(select(PriceImport).where(
            PriceImport.kind == "reprice",
            or_(PriceImport.tenant_code == tenant_code, PriceImport.tenant_code.is_(None))
        ).order_by(PriceImport.id)).all()

    def rules(self, tenant_code: str | None = None, import_id: int | None = None) -> Sequence[Row]:
        """Rule rows with their import's kind (``tenant_code``: the tenant's own and the general ones)."""
        query = select(PriceRule.__table__, PriceImport.kind).join(PriceImport, PriceImport.id == PriceRule.import_id)
        if tenant_code is not None:
            query = query.where(or_(PriceRule.tenant_code.is_(None), PriceRule.tenant_code == tenant_code))
        if import_id is not None:
            query = query.where(PriceRule.import_id == import_id)
        return self.session.execute(query.order_by(PriceRule.id)).all()

    def list_prices(self, currency: str | None = None, import_id: int | None = None, market: str | None = None,
                    limit: int | None = None) -> Sequence[Row]:
        """Microsoft list prices, by currency and market (a legal entity's country) or by import."""
        query = select(ListPrice.__table__)
        if currency is not None:
            query = query.where(ListPrice.currency == currency)
        if market is not None:
            query = query.where(ListPrice.market == market)
        if import_id is not None:
            query = query.where(ListPrice.import_id == import_id)
        return self.session.execute(query.order_by(ListPrice.id).limit(limit)).all()

    def known_products(self) -> set[str]:
        """Everything a rule's ``product`` may name: subscription products (and ``ProductId:SkuId``), products seen
        in snapshots (upgrades), Microsoft list SKUs and usage meters."""
        known: set[str] = set()
        for product, sku in self.session.execute(select(Subscription.product_id, Subscription.sku).distinct()):
            known |= {product, f"{product}:{sku}"} if sku else {product}
        for product, sku in self.session.execute(select(ListPrice.product_id, ListPrice.sku_id).distinct()):
            known |= {product, f"{product}:{sku}"}
        known |= set(self.session.scalars(select(Snapshot.product_id).distinct()))
        return known | set(self.session.scalars(select(UsageRow.meter_id).distinct()))

    def known_customers(self) -> set[str]:
        """How a rule's ``customer`` may name a customer: ERP reference, name or ledger id."""
        known: set[str] = set()
        for customer_id, name, reference in self.session.execute(select(Customer.id, Customer.name,
                                                                        Customer.reference)):
            known |= {str(customer_id), name, *([reference] if reference else [])}
        return known

    def fx_rates(self) -> Sequence[FxRate]:
        """Every recorded exchange rate (few: one per currency pair and day or month)."""
        return self.session.scalars(select(FxRate).order_by(FxRate.rate_date, FxRate.id)).all()
