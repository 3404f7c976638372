"""Gapless invoice and credit-note numbers per legal entity and year, handed out at approval time.

Why at approval and under a lock: a number printed on an invoice must never be skipped or repeated, even when two
approvals run at the same time or one fails half-way. The counter row (``invoice_number_counters``, one per tenant,
year and series) is read and advanced inside the approving unit of work: ``SELECT ... FOR UPDATE`` on PostgreSQL,
the ``BEGIN IMMEDIATE`` write lock on SQLite. A failed approval rolls the counters back with everything else, so
discarded drafts leave no gaps. Credit notes share the invoice series unless the tenant configures
``invoice_numbers.credit_notes``; then they count in a series of their own, locked after the invoice series (always
in that order, so two approvals never wait on each other crosswise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config.schema import InvoiceNumbering, NumberSeries
from services.errors import ValidationFailed
from services.uow import UnitOfWork

INVOICE_SERIES = "invoice"
CREDIT_NOTE_SERIES = "credit_note"


@dataclass(frozen=True)
class NumberRange:
    first: int  # sequence numbers, inclusive
    last: int
    year: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Numbered:
    """The numbers one approval handed out: ``{invoice_id: number}`` and each series' first and last number."""

    numbers: dict[int, str]
    invoices: tuple[str, str] | None  # first, last of the invoice series (credit notes included when shared)
    credit_notes: tuple[str, str] | None  # first, last of the credit-note series when it is a series of its own


def format_number(pattern: str, year: int, seq: int) -> str:
    """``NL{year}-{seq:05d}`` with year 2026 and seq 7 → ``NL2026-00007``."""
    return pattern.format(year=year, seq=seq)


def allocate(uow: UnitOfWork, tenant_code: str, tenant_id: int, numbering: NumberSeries, year: int,
             count: int, series: str = INVOICE_SERIES) -> NumberRange:
    """Reserve ``count`` consecutive numbers of ``year`` in ``series`` for the tenant inside the caller's unit of
    work."""
    last_used = uow.invoices.lock_counter(tenant_id, year, numbering.first - 1, series)
    first = max(last_used + 1, numbering.first)
    last = first + count - 1
    if last > numbering.last:
        left = max(numbering.last - first + 1, 0)
        field = "invoice_numbers" if series == INVOICE_SERIES else "invoice_numbers.credit_notes"
        raise ValidationFailed(
            f"tenant {tenant_code} {field}: range {numbering.first}..{numbering.last} of {year} is exhausted "
            f"({count} {series.replace('_', ' ')}s need a number, {left} left); extend {field}.last in config.yaml")
    if count:
        uow.invoices.set_counter(tenant_id, year, last, series)
    return NumberRange(first, last, year)


def number_documents(uow: UnitOfWork, tenant_code: str, tenant_id: int, numbering: InvoiceNumbering, year: int,
                     ordered: Sequence[tuple[int, bool]]) -> Numbered:
    """Number the batch's documents, ``(invoice_id, is_credit_note)`` in numbering order: one series, or two when
    ``numbering.credit_notes`` is configured."""
    own = numbering.credit_notes
    series: list[tuple[str, NumberSeries, list[int]]] = (
        [(INVOICE_SERIES, numbering, [id_ for id_, credit in ordered if not credit]),
         (CREDIT_NOTE_SERIES, own, [id_ for id_, credit in ordered if credit])] if own is not None
        else [(INVOICE_SERIES, numbering, [id_ for id_, _ in ordered])])
    numbers: dict[int, str] = {}
    bounds: list[tuple[str, str] | None] = []
    for name, rules, ids in series:
        block = allocate(uow, tenant_code, tenant_id, rules, year, len(ids), name)
        numbers.update({invoice_id: format_number(rules.pattern, year, block.first + offset)
                        for offset, invoice_id in enumerate(ids)})
        bounds.append((format_number(rules.pattern, year, block.first), format_number(rules.pattern, year, block.last))
                      if ids else None)
    return Numbered(numbers, bounds[0], bounds[1] if own is not None else None)
