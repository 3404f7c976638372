"""The versioned price book and exchange rates: what a line was priced with, named in its lineage.

Why apart: prices and rates are valid from a date and never edited in place, so a line can always be explained by
the version and rate it used.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models.base import Base, Id, utcnow


class PriceListVersion(Base):
    """A sell price valid from a date (per product, optionally per customer); lines name the version they used."""

    __tablename__ = "price_list_versions"
    __table_args__ = (Index("ix_price_versions_lookup", "tenant_id", "product_id", "valid_from"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    product_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    billing: Mapped[str] = mapped_column(String(12))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    unit_price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(40))  # config, vendor, manual
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
