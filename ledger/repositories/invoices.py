"""Invoices and invoice lines: bulk writes for batch builds, reads for review, and the invoice-number counter.

Why Core statements for writes: a batch holds up to hundreds of thousands of lines; ORM unit-of-work bookkeeping per
object costs more than the rating. Reads for people are paginated and ordered by indexed columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Row, Text, cast, delete, func, or_, select, update

from ledger.json_text import json_text
from ledger.models import INVOICE, Batch, Customer, Invoice, InvoiceLine, InvoiceNumberCounter
from ledger.repositories.base import CHUNK, Repository, chunks, insert_if_missing
from ledger.repositories.bulk_insert import Columns, Written, insert_behind, insert_rows_returning_ids
from ledger.shards import WHOLE, Shard

CLOSED = ("approved", "exported")
# what the model's Python-side defaults give a new draft invoice (a bulk insert sets every column itself), its JSON
# column as the text stored
DRAFT_DEFAULTS = {"number": None, "issue_date": None, "document_type": INVOICE, "corrects_invoice_id": None,
                  "corrected_invoices": "[]"}
JSON_COLUMNS = ("corrected_invoices", "vat_breakdown")  # an invoice's JSON columns, given as text by a bulk insert


class LineRow(NamedTuple):
    """The columns of a draft line as ``invoice_lines`` stores it, but for its invoice's id and its tenant's (the
    building process assigns those), with its lineage as JSON text, last: the fields, in their order, of each line
    a build hands over (:class:`LineColumns`), which a rebuild compares with the stored row's columns
    (:meth:`InvoiceRepository.draft_lines`) in one step."""

    line_key: str
    base_key: str
    version: int
    kind: str
    customer_id: int
    subscription_id: int | None
    description: str
    period_from: dt.date | None
    period_to: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    unrounded: Decimal
    currency: str
    vat_rate: Decimal
    vat_category: str
    corrects_line_key: str | None
    reason_code: str | None
    bill_month: str | None
    lineage: str  # JSON text


@dataclass
class LineColumns:
    """Lines as ``invoice_lines`` stores them, one sequence per :class:`LineRow` field (``columns``, in its order).

    Why columns: a build's ranges hand their lines to the building process (pickled from a Dask worker), which
    writes them column by column; a sequence per column pickles and unpickles in about half the time a tuple per
    line takes (a range of the bench at full scale, 56 k lines: 0.16 s and 0.06 s instead of 0.28 s and 0.12 s), and
    the writer takes the columns as they are."""

    columns: list[Sequence[Any]]

    @classmethod
    def of(cls, rows: Sequence[tuple[Any, ...]]) -> LineColumns:
        """The columns of ``rows`` (each with :class:`LineRow`'s fields, in its order)."""
        return cls(list(zip(*rows, strict=True)) if rows else [() for _ in LineRow._fields])

    def __len__(self) -> int:
        return len(self.columns[0])

    def column(self, name: str) -> Sequence[Any]:
        return self.columns[_FIELDS[name]]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Each line as a tuple of :class:`LineRow`'s fields (``draft_lines``' ``row[2:]`` compares with it)."""
        return zip(*self.columns, strict=True)

    def taken(self, indices: Sequence[int]) -> LineColumns:
        """The lines at ``indices``, in that order."""
        return LineColumns([[column[index] for index in indices] for column in self.columns])


_FIELDS = {name: index for index, name in enumerate(LineRow._fields)}


class InvoiceRepository(Repository):
    # --- batch builds -------------------------------------------------------------------------------------------

    def draft_invoices(self, batch_id: int, shard: Shard = WHOLE) -> dict[str, Any]:
        """``{invoice_key: row}`` of the batch's invoices (id, key, net, vat, gross, vat_breakdown)."""
        rows = self.bulk_rows(
            select(Invoice.id, Invoice.invoice_key, Invoice.net, Invoice.vat, Invoice.gross, Invoice.vat_breakdown,
                   Invoice.customer_id, Invoice.group_key, Invoice.currency)
            .where(Invoice.batch_id == batch_id, shard.where(Invoice.customer_id))
        )
        return {row.invoice_key: row for row in rows}

    def draft_lines(self, batch_id: int, shard: Shard = WHOLE) -> dict[str, Any]:
        """``{line_key: row}`` of every line in the batch: ``id``, ``invoice_id``, then :class:`LineRow`'s columns
        in its order (``row[2:]`` compares with a ``LineRow``), the lineage as its stored JSON text; parsed, a large
        batch's lineage would take gigabytes to compare."""
        table = InvoiceLine.__table__
        columns = [table.c.id, table.c.invoice_id, *(table.c[name] for name in LineRow._fields[:-1])]
        rows = self.bulk_rows(
            select(*columns, cast(InvoiceLine.lineage, Text).label("lineage"))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.batch_id == batch_id, shard.where(Invoice.customer_id))
        )
        return {row.line_key: row for row in rows}

    def billed_lines(self, tenant_id: int, first_month: str, last_month: str, row: type[Any],
                     shard: Shard = WHOLE) -> list[Any]:
        """Lines of approved or exported batches whose key is owned by the months ``first_month..last_month``, as
        ``row`` tuples (a named tuple class: its fields name the columns read, in its order; a build reads millions
        a year after go-live, and makes no second object of each).

        Only batches of those months can hold them (a batch's lines are billed in its month or before), so those
        batches are found first, and a month none of them is closed for reads no line: otherwise the ``bill_month``
        index walks every line of the months, the draft's own included, once per partition of a build."""
        closed = self.session.scalars(select(Batch.id).where(
            Batch.tenant_id == tenant_id, Batch.status.in_(CLOSED), Batch.month >= first_month,
            Batch.month <= last_month)).all()
        if not closed:
            return []
        return self.bulk_rows(
            select(*(InvoiceLine.__table__.c[name] for name in row._fields))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.tenant_id == tenant_id, self.one_of(Invoice.batch_id, closed),
                   InvoiceLine.bill_month >= first_month, InvoiceLine.bill_month <= last_month,
                   shard.where(InvoiceLine.customer_id))
            .order_by(InvoiceLine.base_key, InvoiceLine.version),
            row._make,
        )

    def lineages(self, line_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{line_key: lineage}`` of the named lines (a few: what corrections refer to)."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(line_keys)):
            rows = self.session.execute(select(InvoiceLine.line_key, InvoiceLine.lineage)
                                        .where(self.one_of(InvoiceLine.line_key, chunk)))
            found.update(rows.tuples().all())
        return found

    def insert_invoices(self, batch_id: int, tenant_id: int, columns: dict[str, Sequence[Any]]) -> dict[str, int]:
        """Insert the batch's new draft invoices, given column by column (``customer_id``, ``invoice_key``,
        ``group_key``, ``currency``, ``net``, ``vat``, ``gross``, ``vat_breakdown``), COPY on PostgreSQL; returns
        ``{invoice_key: id}``. The JSON columns go in as text, encoded here (the column type's processor would add
        its own call per row: a list is not a value the writer converts once per distinct value)."""
        keys = columns["invoice_key"]
        if not keys:
            return {}
        fixed = {**DRAFT_DEFAULTS, "batch_id": batch_id, "tenant_id": tenant_id, "status": "draft"}
        rows = Columns({**{name: [value] * len(keys) for name, value in fixed.items()}, **columns,
                        "vat_breakdown": [json_text(breakdown) for breakdown in columns["vat_breakdown"]]})
        ids = insert_rows_returning_ids(self.session, Invoice.__table__, rows, json_text=JSON_COLUMNS)
        return dict(zip(keys, ids, strict=True))

    def any_invoice(self, batch_id: int) -> bool:
        """Whether the batch holds any invoice (a first build's ranges then have no draft lines to compare with)."""
        return self.session.scalar(select(Invoice.id).where(Invoice.batch_id == batch_id).limit(1)) is not None

    def update_invoices(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update invoices by primary key (``id`` in every row)."""
        for chunk in chunks(rows):
            self.session.execute(update(Invoice), list(chunk))

    def delete_invoices(self, ids: Sequence[int]) -> None:
        for chunk in chunks(ids):
            self.session.execute(delete(Invoice).where(self.one_of(Invoice.id, chunk)))

    def insert_lines(self, tenant_id: int, invoice_ids: Sequence[int], lines: LineColumns,
                     behind: bool = False) -> Written:
        """Insert the tenant's ``lines``, each in the invoice of the same position in ``invoice_ids``, converted chunk
        by chunk while the ledger writes the chunk before: one COPY on PostgreSQL, multi-row INSERTs from a writer
        thread on SQLite (``insert_behind``). ``behind``: on SQLite the writer may still be storing them when this
        returns; ``wait`` on the result before the session's next statement."""
        return insert_behind(self.session, InvoiceLine.__table__, _line_chunks(tenant_id, invoice_ids, lines),
                             ("lineage",), wait=not behind)

    def update_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in chunks(rows):
            self.session.execute(update(InvoiceLine), list(chunk))

    def delete_lines(self, ids: Sequence[int]) -> None:
        for chunk in chunks(ids):
            self.session.execute(delete(InvoiceLine).where(self.one_of(InvoiceLine.id, chunk)))

    # --- approval -----------------------------------------------------------------------------------------------

    def numbering_order(self, batch_id: int) -> Sequence[Row]:
        """``(id, gross)`` of the batch's invoices in the order numbers are handed out (by deterministic key)."""
        return self.session.execute(
            select(Invoice.id, Invoice.gross).where(Invoice.batch_id == batch_id).order_by(Invoice.invoice_key)
        ).all()

    def correcting_lines(self, invoice_ids: Sequence[int]) -> Sequence[Row]:
        """``(invoice_id, base_key, kind, corrects_line_key, lineage)`` of the lines of these invoices that may
        correct an earlier invoice: corrections and credits."""
        rows: list[Row] = []
        for chunk in chunks(invoice_ids):
            rows += self.session.execute(
                select(InvoiceLine.invoice_id, InvoiceLine.base_key, InvoiceLine.kind, InvoiceLine.corrects_line_key,
                       InvoiceLine.lineage)
                .where(self.one_of(InvoiceLine.invoice_id, chunk),
                       or_(InvoiceLine.corrects_line_key.is_not(None), InvoiceLine.kind == "credit"))
            ).all()
        return rows

    def issued_holding(self, tenant_id: int, line_keys: Sequence[str], base_keys: Sequence[str]) -> Sequence[Row]:
        """``(id, number, issue_date, line_key, base_key)`` of issued invoices of closed batches holding one of
        these lines (by line key, or any version of a base key)."""
        rows: list[Row] = []
        for column, keys in ((InvoiceLine.line_key, line_keys), (InvoiceLine.base_key, base_keys)):
            for chunk in chunks(sorted(set(keys))):
                rows += self.session.execute(
                    select(Invoice.id, Invoice.number, Invoice.issue_date, InvoiceLine.line_key, InvoiceLine.base_key)
                    .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                    .join(Batch, Batch.id == Invoice.batch_id)
                    .where(Invoice.tenant_id == tenant_id, Batch.status.in_(CLOSED), Invoice.number.is_not(None),
                           self.one_of(column, chunk))
                ).all()
        return rows

    def documents(self, batch_id: int) -> Sequence[Row]:
        """``(id, number, customer, currency, gross, status, document_type, corrected_invoices)`` of every invoice of
        the batch, by invoice key (callers pick the credit notes in Python: SQLite compares amounts as text)."""
        return self.session.execute(
            select(Invoice.id, Invoice.number, Customer.name.label("customer"), Invoice.currency, Invoice.gross,
                   Invoice.status, Invoice.document_type, Invoice.corrected_invoices)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.batch_id == batch_id)
            .order_by(Invoice.invoice_key)
        ).all()

    def mark_credit_notes(self, rows: Sequence[dict[str, Any]]) -> None:
        """Set ``document_type``, ``corrects_invoice_id`` and ``corrected_invoices`` by primary key."""
        for chunk in chunks(rows):
            self.session.execute(update(Invoice), list(chunk))

    def set_status(self, batch_id: int, status: str) -> None:
        self.session.execute(update(Invoice).where(Invoice.batch_id == batch_id).values(status=status))

    def lock_counter(self, tenant_id: int, year: int, start_after: int, series: str = "invoice") -> int:
        """Lock the (tenant, year, series) counter row, creating it at ``start_after`` if missing; returns the last
        number.

        Row lock on PostgreSQL (``SELECT ... FOR UPDATE``; a concurrent creator waits on the unique key); on SQLite
        the caller's ``BEGIN IMMEDIATE`` already serialises writers.
        """
        insert_if_missing(self.session, InvoiceNumberCounter, tenant_id=tenant_id, year=year, series=series,
                          last_number=start_after)
        return self.session.scalar(
            select(InvoiceNumberCounter.last_number)
            .where(*self._counter(tenant_id, year, series))
            .with_for_update()
        )

    def set_counter(self, tenant_id: int, year: int, last_number: int, series: str = "invoice") -> None:
        self.session.execute(
            update(InvoiceNumberCounter).where(*self._counter(tenant_id, year, series)).values(last_number=last_number)
        )

    @staticmethod
    def _counter(tenant_id: int, year: int, series: str) -> tuple[Any, ...]:
        return (InvoiceNumberCounter.tenant_id == tenant_id, InvoiceNumberCounter.year == year,
                InvoiceNumberCounter.series == series)

    # --- review -------------------------------------------------------------------------------------------------

    def count(self, batch_id: int) -> int:
        """How many invoices the batch holds (a count over the ``(batch_id, invoice_key)`` index)."""
        return self.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.batch_id == batch_id)) or 0

    def page_by_key(self, batch_id: int, limit: int, after: str | None = None,
                    before: str | None = None) -> tuple[Sequence[Row], bool, bool]:
        """A page of the batch's invoices with the customer's name, in invoice-key order, by keyset: the ``limit``
        first keys after ``after``, or the ``limit`` last keys before ``before`` (``""``: the last page), or the
        first page when neither is given (``after`` wins when both are). Returns ``(rows, more before, more after)``.

        Why keys, not OFFSET: the index ``(batch_id, invoice_key)`` finds the page's first row directly, so the last
        of 6,000 pages costs what the first does; OFFSET walks (and joins) every row before the page."""
        backwards = after is None and before is not None
        query = (
            select(Invoice.id, Invoice.invoice_key, Invoice.number, Invoice.customer_id,
                   Customer.name.label("customer"), Invoice.group_key, Invoice.currency, Invoice.net, Invoice.vat,
                   Invoice.gross, Invoice.status, Invoice.document_type)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.batch_id == batch_id)
        )
        if backwards:
            if before:
                query = query.where(Invoice.invoice_key < before)
            query = query.order_by(Invoice.invoice_key.desc())
        else:
            if after:
                query = query.where(Invoice.invoice_key > after)
            query = query.order_by(Invoice.invoice_key)
        rows = list(self.session.execute(query.limit(limit + 1)).all())  # the extra row: there is more that way
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
            return rows, more, bool(before) and self._any_key(batch_id, Invoice.invoice_key >= before)
        return rows, bool(after) and self._any_key(batch_id, Invoice.invoice_key <= after), more

    def _any_key(self, batch_id: int, condition: Any) -> bool:
        return self.session.scalar(
            select(Invoice.id).where(Invoice.batch_id == batch_id, condition).limit(1)) is not None

    def get(self, invoice_id: int) -> Invoice | None:
        return self.session.get(Invoice, invoice_id)

    def line(self, key_or_id: str) -> InvoiceLine | None:
        """A line by its line key, or by its numeric id."""
        condition = InvoiceLine.line_key == key_or_id
        if key_or_id.isdigit():
            condition = or_(condition, InvoiceLine.id == int(key_or_id))
        return self.session.scalar(select(InvoiceLine).where(condition).limit(1))

    def issue(self, rows: Sequence[dict[str, Any]], issue_date: dt.date, status: str) -> None:
        """Give each invoice (``{"id", "number"}``) its number, issue date and status."""
        for chunk in chunks(rows):
            self.session.execute(update(Invoice), [dict(row, issue_date=issue_date, status=status) for row in chunk])


def _line_chunks(tenant_id: int, invoice_ids: Sequence[int], lines: LineColumns) -> Iterator[Columns]:
    for start in range(0, len(invoice_ids), CHUNK):
        ids = invoice_ids[start:start + CHUNK]
        yield Columns({"invoice_id": ids, "tenant_id": [tenant_id] * len(ids),
                       **{name: column[start:start + CHUNK]
                          for name, column in zip(LineRow._fields, lines.columns, strict=True)}})
