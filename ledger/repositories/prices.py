"""Price-list versions: sell prices valid from a date, per product and optionally per customer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ledger.models import FxRate, PriceListVersion
from ledger.repositories.base import Repository


class PriceRepository(Repository):
    def add(self, **fields: object) -> PriceListVersion:
        version = PriceListVersion(**fields)
        self.session.add(version)
        self.session.flush()
        return version

    def for_tenant(self, tenant_id: int) -> Sequence[PriceListVersion]:
        """Every version of the tenant, oldest first: a batch build resolves prices in memory, not per line."""
        return self.session.scalars(
            select(PriceListVersion)
            .where(PriceListVersion.tenant_id == tenant_id)
            .order_by(PriceListVersion.product_id, PriceListVersion.valid_from, PriceListVersion.id)
        ).all()

    def fx_rates(self) -> Sequence[FxRate]:
        """Every recorded exchange rate (few: one per currency pair and day or month)."""
        return self.session.scalars(select(FxRate).order_by(FxRate.rate_date, FxRate.id)).all()
