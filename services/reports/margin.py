"""The margin report: billed minus vendor cost per customer, product and month, negative margins flagged, with
totals per legal entity (and, for a group admin, per currency across entities).

Read-only: finance of the entities shown. The rule (which month a charge belongs to, never adding two currencies)
is ``rating.margins``; this module loads the charges and lays the figures out as tables.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from config import Settings
from rating.margins import MarginRow, Total, margins, totals
from services.access import Actor
from services.clock import Clock
from services.reports.charges import billed, costs
from services.reports.scope import Column, Scope, Table, months_between, scope
from services.runtime import engine_for
from services.uow import UnitOfWork

MONEY = "money"


@dataclass(frozen=True)
class MarginReport:
    scope: Scope
    rows: list[MarginRow]
    totals: list[Total]  # per legal entity and currency
    across: list[Total]  # per currency across entities (a group admin only; else empty)

    @property
    def negative(self) -> list[MarginRow]:
        return [row for row in self.rows if row.negative]

    def by_customer(self) -> list[Total]:
        """Sums per customer (``Total.tenant`` holds "entity · customer"), per currency, largest loss first."""
        named = [replace(row, tenant=f"{row.tenant} · {row.customer}") for row in self.rows]
        return sorted(totals(named), key=lambda t: (t.margin, t.tenant))

    def tables(self) -> list[Table]:
        return [margin_table(self.rows), totals_table("margin-totals", "Margin per legal entity", self.totals),
                *([totals_table("margin-group", "Margin across legal entities, per currency", self.across)]
                  if self.across else [])]


def margin_report(settings: Settings, who: Actor, clock: Clock, first: str | None = None, last: str | None = None,
                  tenant: str | None = None) -> MarginReport:
    """Margin of the months ``first``..``last`` (default: the six months before now) for the entities ``who`` reads."""
    months = months_between(first, last, clock)
    with UnitOfWork(engine_for(settings)) as uow:
        where = scope(uow, settings, who, months, tenant)
        rows = margins(billed(uow, where), costs(uow, where))
    return MarginReport(where, rows, totals(rows), totals(rows, across_tenants=True) if where.across else [])


def margin_table(rows: list[MarginRow]) -> Table:
    columns = (Column("legal entity"), Column("customer"), Column("product"), Column("month"), Column("currency"),
               Column("billed", MONEY), Column("vendor cost", MONEY), Column("margin", MONEY), Column("negative"))
    return Table("margin", "Margin per customer, product and month", columns,
                 [(r.tenant, r.customer, r.product, r.month, r.currency, r.billed, r.cost, r.margin,
                   "yes" if r.negative else "") for r in rows], [r.negative for r in rows])


def totals_table(name: str, title: str, found: list[Total]) -> Table:
    columns = (Column("legal entity"), Column("currency"), Column("billed", MONEY), Column("vendor cost", MONEY),
               Column("margin", MONEY))
    return Table(name, title, columns, [(t.tenant or "all", t.currency, t.billed, t.cost, t.margin) for t in found],
                 [t.margin < 0 for t in found])
