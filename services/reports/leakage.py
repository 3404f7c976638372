"""The vendor-invoice check (revenue leakage): every vendor charge of the months — Microsoft's reconciliation lines,
the distributors' invoice items — matched to the billed lines that cover it.

Listed: vendor charges never billed (leakage) and billed lines with no vendor charge behind them, each with its
amount, and their totals per legal entity and currency. The matching rule (the lineage names the cost line, or the
same subscription with overlapping stretches) is ``rating.margins.match``.

Both sides are read from three years before the first month, so a charge that started earlier and still covers
these months (an annual term, a cycle begun the month before) counts as a match; what is listed starts inside the
months. A charge starting late in the last month may be billed in the next month's batch: widen the months to see
it matched.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from config import Settings
from rating.margins import Charge, Matching, match
from services.access import Actor
from services.clock import Clock
from services.reports.charges import billed, costs
from services.reports.scope import Column, Scope, Table, months_between, scope
from services.runtime import engine_for
from services.uow import UnitOfWork

MONEY = "money"


@dataclass(frozen=True)
class LeakageReport:
    scope: Scope
    matching: Matching
    vendor_charges: int

    def totals(self) -> list[tuple[str, str, Decimal, Decimal, int, int]]:
        """Per entity and currency: (tenant, currency, unbilled amount, unbacked amount, unbilled count, unbacked)."""
        cells: dict[tuple[str, str], list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0, 0])
        for column, charges in ((0, self.matching.unbilled), (1, self.matching.unbacked)):
            for charge in charges:
                cell = cells[(charge.tenant, charge.currency)]
                cell[column] += charge.amount
                cell[column + 2] += 1
        return [(tenant, currency, *cell) for (tenant, currency), cell in sorted(cells.items())]

    def tables(self) -> list[Table]:
        columns = (Column("legal entity"), Column("currency"), Column("vendor charges never billed", MONEY),
                   Column("billed without vendor charge", MONEY), Column("unbilled lines", "int"),
                   Column("unbacked lines", "int"))
        return [
            charges_table("leakage-unbilled", "Vendor charges never billed (revenue leakage)", "vendor line",
                          self.matching.unbilled),
            charges_table("leakage-unbacked", "Billed lines with no vendor charge", "invoice line",
                          self.matching.unbacked),
            Table("leakage-totals", "Totals per legal entity", columns, list(self.totals()),
                  [row[2] != 0 for row in self.totals()]),
        ]


def leakage_report(settings: Settings, who: Actor, clock: Clock, first: str | None = None, last: str | None = None,
                   tenant: str | None = None) -> LeakageReport:
    """Match the vendor charges of ``first``..``last`` to billed lines for the entities ``who`` reads."""
    months = months_between(first, last, clock)
    with UnitOfWork(engine_for(settings)) as uow:
        where = scope(uow, settings, who, months, tenant)
        wide = where.widened()
        result = match(costs(uow, wide), billed(uow, wide))

    def starts_inside(day: dt.date) -> bool:
        return day >= where.first

    kept = Matching(tuple(m for m in result.matched if starts_inside(m.vendor.first)),
                    tuple(c for c in result.unbilled if starts_inside(c.first)),
                    tuple(b for b in result.unbacked if starts_inside(b.first)))
    return LeakageReport(where, kept, len(kept.matched) + len(kept.unbilled))


def charges_table(name: str, title: str, ref: str, charges: Iterable[Charge]) -> Table:
    columns = (Column("legal entity"), Column("customer"), Column("product"), Column("subscription", "int"),
               Column("from"), Column("to"), Column(ref), Column("currency"), Column("amount", MONEY))
    return Table(name, title, columns,
                 [(c.tenant, c.customer, c.product, c.subscription, c.first.isoformat(), c.last.isoformat(), c.ref,
                   c.currency, c.amount) for c in charges])
