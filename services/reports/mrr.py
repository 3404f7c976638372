"""MRR and ARR per legal entity and month, the customers' movements (churn and expansion) and seats over time.

MRR's rule (recurring lines only; a multi-month stretch spread over its months; rounded once per customer, month
and currency by the entity's rounding policy) is ``rating.recurring``. Lines starting up to three years before the
first month are read too, so an annual or triennial term paid earlier still counts in the months it covers.

Seats are the vendor's truth (the snapshots): per product, the seats in force on the last day of each month,
counting nothing for a subscription ended, in trial or pending.

Only months inside the entity's billed window are shown (``Scope.billed_on``): a month without an approved batch
would read as everyone churning. Movements start with the second billed month (against the go-live month every
customer would be "new").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from config import Settings
from rating.months import month_bounds, shift_month
from rating.recurring import Movement, MrrCell, gained_and_lost, movements, mrr
from rating.rounding import RoundingPolicy, round_amount
from services.access import Actor
from services.batches.timeline import ENDED, NOT_BILLED
from services.clock import Clock
from services.reports.charges import recurring
from services.reports.scope import Column, Scope, Table, months_between, scope
from services.runtime import engine_for
from services.uow import UnitOfWork

MONEY = "money"


@dataclass(frozen=True)
class EntityMonth:
    tenant: str
    month: str
    currency: str
    mrr: Decimal
    gained: Decimal
    lost: Decimal
    customers: int

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


@dataclass(frozen=True)
class MrrReport:
    scope: Scope
    entities: list[EntityMonth]
    customers: list[MrrCell]
    movements: list[Movement]
    seats: list[tuple[str, str, str, int]]  # tenant, product, month, seats at its end

    def tables(self) -> list[Table]:
        return [
            Table("mrr", "MRR and ARR per legal entity and month",
                  (Column("legal entity"), Column("month"), Column("currency"), Column("MRR", MONEY),
                   Column("ARR", MONEY), Column("MRR gained", MONEY), Column("MRR lost", MONEY),
                   Column("customers", "int")),
                  [(e.tenant, e.month, e.currency, e.mrr, e.arr, e.gained, e.lost, e.customers)
                   for e in self.entities]),
            Table("mrr-movements", "Churn and expansion per customer",
                  (Column("legal entity"), Column("customer"), Column("month"), Column("currency"), Column("movement"),
                   Column("previous MRR", MONEY), Column("MRR", MONEY), Column("change", MONEY)),
                  [(m.tenant, m.customer, m.month, m.currency, m.kind, m.previous, m.current, m.change)
                   for m in self.movements], [m.kind == "churned" for m in self.movements]),
            Table("seats", "Seats per product at each month's end",
                  (Column("legal entity"), Column("product"), Column("month"), Column("seats", "int")),
                  list(self.seats)),
        ]


def mrr_report(settings: Settings, who: Actor, clock: Clock, first: str | None = None, last: str | None = None,
               tenant: str | None = None) -> MrrReport:
    """MRR, movements and seats of ``first``..``last`` for the entities ``who`` reads."""
    months = months_between(first, last, clock)
    with UnitOfWork(engine_for(settings)) as uow:
        where = scope(uow, settings, who, months, tenant)
        lines = recurring(uow, where.widened())
        seat_rows = uow.reports.seats(list(where.tenants), where.last)
    cells: list[MrrCell] = []
    moves: list[Movement] = []
    for code in where.tenants.values():
        policy = settings.rating_for(settings.tenant(code)).rounding_for

        def rounder(amount: Fraction, currency: str, policy=policy) -> Decimal:
            return round_amount(amount, currency, RoundingPolicy(policy(currency))).amount

        billed = [m for m in months if where.billed_on(code, month_bounds(m)[0])]
        found = [c for c in mrr([line for line in lines if line.tenant == code], rounder) if c.month in billed]
        cells += found
        moves += movements(found, [m for m in billed if shift_month(m, -1) in billed])
    return MrrReport(where, _entities(cells, moves), cells, moves, _seats(seat_rows, where))


def _entities(cells: list[MrrCell], moves: list[Movement]) -> list[EntityMonth]:
    sums: dict[tuple[str, str, str], list] = defaultdict(lambda: [Decimal(0), 0])
    for cell in cells:
        entry = sums[(cell.tenant, cell.month, cell.currency)]
        entry[0] += cell.mrr
        entry[1] += cell.mrr != 0
    flows = gained_and_lost(moves)
    keys = sorted(set(sums) | set(flows), key=lambda k: (k[0], k[1], k[2]))
    zero = (Decimal(0), Decimal(0))
    return [EntityMonth(tenant, month, currency, sums[(tenant, month, currency)][0],
                        *flows.get((tenant, month, currency), zero), sums[(tenant, month, currency)][1])
            for tenant, month, currency in keys]


def _seats(rows: list[Any], where: Scope) -> list[tuple[str, str, str, int]]:
    """Per tenant, product and month: the seats of the last snapshot on or before the month's last day."""
    ends = [(month, month_bounds(month)[1]) for month in where.months]
    history: dict[int, list] = defaultdict(list)
    for row in rows:
        history[row.subscription_id].append(row)
    seats: dict[tuple[str, str, str], int] = defaultdict(int)
    for snapshots in history.values():
        for month, end in ends:
            state = _last_on(snapshots, end)
            if state is not None:
                key = (where.tenants[state.tenant_id], state.product_name, month)
                seats[key] += 0 if state.status.lower() in ENDED | NOT_BILLED else int(state.quantity)
    return [(tenant, product, month, count) for (tenant, product, month), count in sorted(seats.items())]


def _last_on(snapshots: list[Any], day: dt.date) -> Any:
    found = None
    for snapshot in snapshots:
        if snapshot.observed_on > day:
            break
        found = snapshot
    return found
