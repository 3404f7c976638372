"""The versioned price book and exchange rates: what a line was priced with, named in its lineage.

Why versions and editions: a price rule or a list price is never edited in place. Every change arrives as an import
(config, a rules CSV, Microsoft's price list, a reprice) with an increasing id, the *edition* of the price book; its
rows are valid for a range of days. A batch remembers the edition it was priced with, so rebuilding later months
reads the book as it stood when an earlier month was billed, and a price edit after the fact changes nothing that
was invoiced unless finance reprices on purpose.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class PriceImport(Base):
    """One edition of the price book: an import of rules or list prices, or an explicit reprice."""

    __tablename__ = "price_imports"
    __table_args__ = (UniqueConstraint("kind", "sha256"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # config, rules, microsoft, reprice
    source: Mapped[str] = mapped_column(String(300))  # file name, "config.yaml price_rules", the reprice's reason
    sha256: Mapped[str] = mapped_column(String(64))  # of the content: the same file twice is one import
    rows: Mapped[int]
    tenant_code: Mapped[str | None] = mapped_column(String(40))  # a reprice's legal entity
    reprice_from: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PriceRule(Base):
    """A sell-price rule version: a fixed unit price or a percentage on a basis (vendor cost, Microsoft's list or
    ERP price), scoped by legal entity, customer, product and meter category, valid ``valid_from``..``valid_to``."""

    __tablename__ = "price_rules"
    __table_args__ = (Index("ix_price_rules_import", "import_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("price_imports.id"))
    line: Mapped[int]  # row of the file (or index in config) it came from
    name: Mapped[str | None] = mapped_column(String(100))
    tenant_code: Mapped[str | None] = mapped_column(String(40))
    customer: Mapped[str | None] = mapped_column(String(200))  # ERP reference, name or id
    product: Mapped[str | None] = mapped_column(String(200))
    meter_category: Mapped[str | None] = mapped_column(String(200))
    billing: Mapped[str | None] = mapped_column(String(12))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    unit_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    basis: Mapped[str | None] = mapped_column(String(8))  # cost, list, erp
    percent: Mapped[Decimal | None]


class ListPrice(Base):
    """A row of Microsoft's new-commerce licence price list: partner (unit) and estimated retail (ERP) price of a
    product SKU for a term and billing plan in one market and currency, effective for a range of days."""

    __tablename__ = "list_prices"
    __table_args__ = (Index("ix_list_prices_product", "product_id", "sku_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("price_imports.id"))
    line: Mapped[int]
    product_id: Mapped[str] = mapped_column(String(40))
    sku_id: Mapped[str] = mapped_column(String(40))
    product_title: Mapped[str] = mapped_column(String(300))
    sku_title: Mapped[str] = mapped_column(String(300))
    term: Mapped[str] = mapped_column(String(8))  # P1M, P1Y, P3Y
    billing_plan: Mapped[str] = mapped_column(String(12))  # Monthly, Annual, Triennial
    market: Mapped[str] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[Decimal]
    erp_price: Mapped[Decimal | None]
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive


class FxRate(Base):
    """An exchange rate with where it came from and for which day; lines that convert name it in lineage."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("base", "quote", "rate_date", "source"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(60))
