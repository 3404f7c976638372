"""What a report covers: the months asked for and the legal entities the person may read, and the tables every
report hands to the CLI and the web desk (and from there to CSV and XLSX).

Only what the ledger has billed is compared: an entity's window runs from its first batch month (its go-live; the
vendor's charges before it were billed by whatever came before) through its last approved or exported batch
(later charges are not billed *yet*). Vendor charges starting outside the window are left out of every report.

Tenant isolation: finance reads the entities listed for them (``who.visible_tenants``); a group admin (an admin
who sees every entity) also gets totals across entities, one per currency — amounts of different currencies are
never added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from config import Settings
from rating.months import month_bounds, shift_month
from services.access import Actor, readable_tenants
from services.clock import Clock
from services.errors import ValidationFailed
from services.uow import UnitOfWork

DEFAULT_MONTHS = 6
MAX_MONTHS = 36
LOOK_BACK = 35  # months before the first one whose charges may still cover it (a triennial term)
Cell = str | int | Decimal | None


@dataclass(frozen=True)
class Scope:
    tenants: dict[int, str]  # id -> code the actor may read
    months: tuple[str, ...]  # oldest first
    across: bool  # totals across entities (a group admin)
    windows: dict[str, tuple[dt.date, dt.date]]  # tenant code -> first..last billed day (none: nothing billed)

    @property
    def first(self) -> dt.date:
        return month_bounds(self.months[0])[0]

    @property
    def last(self) -> dt.date:
        return month_bounds(self.months[-1])[1]

    def widened(self) -> Scope:
        """The same entities from ``LOOK_BACK`` months earlier: charges that started before the first month and
        still cover it (an annual term, a cycle that began the month before)."""
        return replace(self, months=(shift_month(self.months[0], -LOOK_BACK), *self.months))

    def billed_on(self, tenant: str, day: dt.date) -> bool:
        """Whether ``day`` is inside ``tenant``'s billed window (and the months asked for)."""
        window = self.windows.get(tenant)
        return window is not None and window[0] <= day <= window[1] and self.first <= day <= self.last


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text, money, int


@dataclass(frozen=True)
class Table:
    """A report table: named columns (money ones as exact ``Decimal``) and rows; ``flags`` marks rows to alert."""

    name: str  # file name stem of the download
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    flags: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        money = [i for i, c in enumerate(self.columns) if c.kind == "money"]
        rows = [tuple(cents(v) if i in money and isinstance(v, Decimal) else v for i, v in enumerate(row))
                for row in self.rows]
        object.__setattr__(self, "rows", rows)

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """An amount shown with at least two decimals (``500`` as read back from SQLite -> ``500.00``); more decimals
    (a vendor's unit-price precision) are kept, so nothing is ever rounded here."""
    exponent = value.as_tuple().exponent
    return value.quantize(CENT) if isinstance(exponent, int) and exponent > -2 else value


def months_between(first: str | None, last: str | None, clock: Clock) -> tuple[str, ...]:
    """``first``..``last`` (inclusive); by default the six months up to the one before now."""
    last = _month("to", last or shift_month(f"{clock.now():%Y-%m}", -1))
    first = _month("from", first or shift_month(last, 1 - DEFAULT_MONTHS))
    if first > last:
        raise ValidationFailed(f"report months: from {first} is after to {last}")
    months = [first]
    while months[-1] < last and len(months) <= MAX_MONTHS:
        months.append(shift_month(months[-1], 1))
    if len(months) > MAX_MONTHS:
        raise ValidationFailed(f"report months: {first}..{last} is more than {MAX_MONTHS} months")
    return tuple(months)


def _month(field_name: str, value: str) -> str:
    try:
        month_bounds(value)
    except ValueError as exc:
        raise ValidationFailed(f"report months, {field_name}: {exc}") from None
    return value


def scope(uow: UnitOfWork, settings: Settings, who: Actor, months: Sequence[str], tenant: str | None) -> Scope:
    """The entities ``who`` may read as finance (only ``tenant`` when given) for ``months``."""
    assert uow.session is not None
    tenants = readable_tenants(uow.session, settings, who, "finance", tenant or None)
    windows = {tenants[tenant_id]: (month_bounds(first)[0], month_bounds(last)[1])
               for tenant_id, (first, last) in uow.reports.billed_months(list(tenants)).items()}
    return Scope(tenants, tuple(months), who.is_admin and who.sees_all and not tenant, windows)
