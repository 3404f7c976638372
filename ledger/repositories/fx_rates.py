"""Exchange rates as recorded: written once per (base, quote, day, source), never edited, read by builds and people.

Why a writer that skips: the nightly sync re-reads files that overlap what is stored (the 90-day file, a full
history), and a line's lineage names the rate it used, so a stored rate is never replaced; a differing value for a
stored key is handed back as a conflict for the run to report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, insert, select

from ledger.models import FxRate
from ledger.repositories.base import Repository


@dataclass(frozen=True)
class RateRow:
    """``1 base = rate quote`` on ``rate_date`` from ``source``."""

    base: str
    quote: str
    rate_date: dt.date
    rate: Decimal
    source: str


@dataclass(frozen=True)
class StoredRates:
    inserted: int
    unchanged: int
    conflicts: list[RateRow]  # same key already stored with another rate (kept as stored)


class FxRateRepository(Repository):
    def store(self, rows: Sequence[RateRow]) -> StoredRates:
        """Insert the rows not yet stored; rows already stored (same key) are left as they are."""
        if not rows:
            return StoredRates(0, 0, [])
        first, last = min(row.rate_date for row in rows), max(row.rate_date for row in rows)
        sources = {row.source for row in rows}
        stored = {
            (r.base, r.quote, r.rate_date, r.source): r.rate
            for r in self.session.execute(
                select(FxRate.base, FxRate.quote, FxRate.rate_date, FxRate.source, FxRate.rate)
                .where(FxRate.source.in_(sources), FxRate.rate_date.between(first, last)))
        }
        new: dict[tuple[str, str, dt.date, str], RateRow] = {}
        conflicts: list[RateRow] = []
        unchanged = 0
        for row in rows:
            key = (row.base, row.quote, row.rate_date, row.source)
            if key in stored:
                if stored[key] == row.rate:
                    unchanged += 1
                else:
                    conflicts.append(row)
            else:
                new[key] = row
        if new:
            self.session.execute(insert(FxRate), [
                {"base": r.base, "quote": r.quote, "rate_date": r.rate_date, "rate": r.rate, "source": r.source}
                for r in new.values()])
        return StoredRates(len(new), unchanged, conflicts)

    def latest_day(self, source: str) -> dt.date | None:
        """The newest day recorded from ``source`` (``None``: nothing yet)."""
        return self.session.scalar(select(func.max(FxRate.rate_date)).where(FxRate.source == source))

    def listing(self, currency: str | None = None, first: dt.date | None = None,
                last: dt.date | None = None) -> Sequence[FxRate]:
        """Recorded rates, newest day first, optionally of one currency (as base or quote) and a day range."""
        query = select(FxRate).order_by(FxRate.rate_date.desc(), FxRate.base, FxRate.quote, FxRate.source)
        if currency is not None:
            query = query.where((FxRate.quote == currency) | (FxRate.base == currency))
        if first is not None:
            query = query.where(FxRate.rate_date >= first)
        if last is not None:
            query = query.where(FxRate.rate_date <= last)
        return self.session.scalars(query).all()
