"""Cost lines: what the vendor billed the reseller, upserted by (source, line id) and kept as delivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ledger.models import CostLine
from ledger.repositories.base import Repository, chunks
from ledger.repositories.bulk_insert import merge_by_key
from ledger.repositories.usage import ReplaceCounts

COMPARED = ("tenant_id", "subscription_id", "customer_external_id", "subscription_external_id", "product_id",
            "charge_type", "charge_start", "charge_end", "quantity", "unit_price", "subtotal", "currency",
            "reference_id", "invoice_id", "billing_type", "order_id", "ordered_on", "product_name",
            "raw")


class CostLineRepository(Repository):
    def upsert_many(self, source: str, rows: Sequence[dict[str, Any]], sync_run_id: int | None) -> ReplaceCounts:
        """Insert new lines, update restated ones, leave identical ones alone (a re-run stores nothing new)."""
        table = CostLine.__table__
        existing: dict[str, Any] = {}
        line_ids = [row["line_id"] for row in rows]
        for chunk in chunks(line_ids):
            query = select(table).where(table.c.source == source, self.one_of(table.c.line_id, chunk))
            existing.update({row.line_id: row for row in self.session.execute(query)})
        inserted, updated, unchanged = merge_by_key(self.session, table, rows, existing, "line_id", COMPARED,
                                                    {"source": source, "sync_run_id": sync_run_id})
        return ReplaceCounts(inserted, updated, 0, unchanged)

    def for_subscriptions(self, subscription_ids: Sequence[int], first: dt.date, last: dt.date) -> list[CostLine]:
        """Lines of these subscriptions whose charge stretch overlaps ``first``..``last`` (inclusive), in charge
        order; asked in chunks of ids, so any number of subscriptions stays within a statement's parameters."""
        found: list[CostLine] = []
        for chunk in chunks(subscription_ids):
            found += self.session.scalars(
                select(CostLine)
                .where(
                    self.one_of(CostLine.subscription_id, chunk),
                    CostLine.charge_start <= last,
                    CostLine.charge_end >= first,
                )
            ).all()
        return sorted(found, key=lambda line: (line.charge_start, line.id))
