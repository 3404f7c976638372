"""Gapless invoice numbers per legal entity and year, handed out at approval time.

Why at approval and under a lock: a number printed on an invoice must never be skipped or repeated, even when two
approvals run at the same time or one fails half-way. The counter row (``invoice_number_counters``) is read and
advanced inside the approving unit of work: ``SELECT ... FOR UPDATE`` on PostgreSQL, the ``BEGIN IMMEDIATE`` write
lock on SQLite. A failed approval rolls the counter back with everything else, so discarded drafts leave no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.schema import InvoiceNumbering
from services.errors import ValidationFailed
from services.uow import UnitOfWork


@dataclass(frozen=True)
class NumberRange:
    first: int  # sequence numbers, inclusive
    last: int
    year: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


def format_number(pattern: str, year: int, seq: int) -> str:
    """``NL{year}-{seq:05d}`` with year 2026 and seq 7 → ``NL2026-00007``."""
    return pattern.format(year=year, seq=seq)


def allocate(uow: UnitOfWork, tenant_code: str, tenant_id: int, numbering: InvoiceNumbering, year: int,
             count: int) -> NumberRange:
    """Reserve ``count`` consecutive numbers of ``year`` for the tenant inside the caller's unit of work."""
    last_used = uow.invoices.lock_counter(tenant_id, year, numbering.first - 1)
    first = max(last_used + 1, numbering.first)
    last = first + count - 1
    if last > numbering.last:
        left = max(numbering.last - first + 1, 0)
        raise ValidationFailed(
            f"tenant {tenant_code} invoice_numbers: range {numbering.first}..{numbering.last} of {year} is exhausted "
            f"({count} invoices need a number, {left} left); extend invoice_numbers.last in config.yaml")
    if count:
        uow.invoices.set_counter(tenant_id, year, last)
    return NumberRange(first, last, year)
