"""The identity and shape of invoice lines in a batch: deterministic keys, desired lines, draft lines.

Why keys are text built from the ledger's own ids: export sends the line key to the ERP as its external reference,
so it must be the same on every rebuild and every retry (tenant, customer, subscription, charge period, charge kind,
version). ``base_key`` is the key without its version; corrections of a billed line keep the base and bump the version.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, NamedTuple

LICENCE_KINDS = ("charge", "credit")  # line kinds of a subscription's seats over a stretch (a base key's last part)
UNROUNDED_STEP = Decimal("1E-10")  # the ledger's NUMERIC(28, 10); lineage keeps the exact n/d


def base_key(tenant: str, customer_id: int, subscription: int | str, period_from: dt.date, period_to: dt.date,
             charge_kind: str) -> str:
    """``nl-bv/12/345/2026-05-01..2026-05-31/charge`` (periods inclusive)."""
    return f"{tenant}/{customer_id}/{subscription}/{period_from.isoformat()}..{period_to.isoformat()}/{charge_kind}"


def line_key(base: str, version: int) -> str:
    return f"{base}/v{version}"


def exact_decimal(value: Fraction) -> Decimal:
    """An exact amount as the ledger column stores it (10 decimals, explicit rounding)."""
    return _stored(value.numerator, value.denominator)


def exact_ratio(numerator: int, denominator: int) -> Decimal:
    """:func:`exact_decimal` of ``numerator / denominator``, reduced or not: the division is correctly rounded, so
    the stored value depends on the ratio's value only (a caller spares building and reducing a ``Fraction``)."""
    return _stored(numerator, denominator)


@functools.lru_cache(maxsize=65536)
def _stored(numerator: int, denominator: int) -> Decimal:
    """Cached: a month's lines repeat few exact amounts (``Decimal`` is immutable, so a shared one is safe)."""
    return (Decimal(numerator) / Decimal(denominator)).quantize(UNROUNDED_STEP, rounding=ROUND_HALF_EVEN)


# Lines are plain (not frozen) slotted dataclasses: a build creates hundreds of thousands, and a frozen dataclass's
# __init__ sets every field through object.__setattr__, twice the cost. Nothing mutates them after construction.


@dataclass(slots=True)
class DesiredLine:
    """What should have been billed under one base key, computed from the ledger as it stands now."""

    base_key: str
    customer_id: int
    subscription_id: int | None
    charge_kind: str  # charge, credit, usage
    period_from: dt.date
    period_to: dt.date  # inclusive
    bill_month: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded once, by the tenant's policy
    unrounded: Decimal
    currency: str
    lineage: dict[str, Any]
    group: str | None = None  # environment, for tenants that group invoices so
    credits: str | None = None  # base key of the line this one credits (a one-time refund credits its purchase)
    explain: Callable[[], tuple[str, dict[str, Any]]] | None = None  # the description and lineage, when deferred

    def written(self) -> DesiredLine:
        """This line with its description and lineage, built now if they were deferred (``explain``): a build
        compares every line of the months it owns with what was billed, and writes only the lines that differ."""
        if self.explain is not None:
            (self.description, self.lineage), self.explain = self.explain(), None
        return self


class BilledLine(NamedTuple):
    """A line of an approved or exported batch (the part of it a diff needs), as the ledger reads it (its fields
    name the columns: ``InvoiceRepository.billed_lines``)."""

    line_key: str
    base_key: str
    version: int
    amount: Decimal
    quantity: Decimal
    unit_price: Decimal
    bill_month: str
    kind: str
    customer_id: int
    subscription_id: int | None
    period_from: dt.date | None
    period_to: dt.date | None
    currency: str
    description: str


@dataclass(slots=True)
class DraftLine:
    """A line of the draft batch: new (version 1) or a correction of what was billed (version + 1)."""

    line_key: str
    base_key: str
    version: int
    kind: str  # charge, credit, usage, correction
    customer_id: int
    subscription_id: int | None
    period_from: dt.date
    period_to: dt.date
    bill_month: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    unrounded: Decimal
    currency: str
    lineage: dict[str, Any]
    corrects_line_key: str | None = None
    reason_code: str | None = None
    group: str | None = None
