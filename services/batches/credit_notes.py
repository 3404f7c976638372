"""Which approved invoices are credit notes, and which earlier invoice each one corrects.

Why at approval: only then are an invoice's lines final. An invoice whose amount due (gross) is negative is a credit
note (UNCL 1001 type 381): money goes back to the customer. It refers to the issued invoice(s) holding the lines its
own lines correct: a correction names the billed line it corrects (``corrects_line_key``); a credit names the
charged stretch it credits in its rating lineage (``details.credits``, see ``diff.credited_charge``). EN 16931 allows
one preceding-invoice reference per document in CII, so the document refers to one: the most recent by issue date,
then number; the ledger keeps all of them (``corrected_invoices``) for the lineage and the invoice page. A credit
note whose lines correct nothing issued (e.g. a price correction of a month before go-live) has no reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.models import CREDIT_NOTE, INVOICE
from services.batches.diff import credited_charge
from services.uow import UnitOfWork


@dataclass(frozen=True)
class Corrected:
    """An issued invoice a credit note corrects."""

    id: int
    number: str
    issue_date: str  # ISO date

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "issue_date": self.issue_date}


def is_credit_note(gross: Decimal) -> bool:
    """A negative amount due makes the document a credit note."""
    return gross < 0


def corrected_invoices(uow: UnitOfWork, tenant_id: int, credit_note_ids: Sequence[int]) -> dict[int, list[Corrected]]:
    """``{credit note id: the issued invoices its lines correct, most recent first}`` (empty list: nothing)."""
    wanted: dict[int, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for row in uow.invoices.correcting_lines(credit_note_ids):
        line_keys, base_keys = wanted[row.invoice_id]
        if row.corrects_line_key:
            line_keys.add(row.corrects_line_key)
        elif row.kind == "credit":
            target = credited_charge(row.base_key, row.lineage or {})
            if target:
                base_keys.add(target)
    all_lines = {key for lines, _ in wanted.values() for key in lines}
    all_bases = {key for _, bases in wanted.values() for key in bases}
    holders: dict[str, set[Corrected]] = defaultdict(set)
    for row in uow.invoices.issued_holding(tenant_id, sorted(all_lines), sorted(all_bases)):
        found = Corrected(row.id, row.number, row.issue_date.isoformat())
        holders[row.line_key].add(found)
        holders[row.base_key].add(found)
    result: dict[int, list[Corrected]] = {}
    for invoice_id in credit_note_ids:
        line_keys, base_keys = wanted.get(invoice_id, (set(), set()))
        found = set().union(*(holders.get(key, set()) for key in line_keys | base_keys))
        result[invoice_id] = sorted(found, key=lambda item: (item.issue_date, item.number), reverse=True)
    return result


def decide_types(uow: UnitOfWork, tenant_id: int, ordered: Sequence[Any]) -> list[dict[str, Any]]:
    """The document type and references of each of the batch's invoices (rows with ``id`` and ``gross``), as
    update rows for ``InvoiceRepository.mark_credit_notes``."""
    credit_ids = [row.id for row in ordered if is_credit_note(row.gross)]
    references = corrected_invoices(uow, tenant_id, credit_ids) if credit_ids else {}
    updates = []
    for row in ordered:
        refs = references.get(row.id)
        if refs is None:
            updates.append({"id": row.id, "document_type": INVOICE, "corrects_invoice_id": None,
                            "corrected_invoices": []})
        else:
            updates.append({"id": row.id, "document_type": CREDIT_NOTE,
                            "corrects_invoice_id": refs[0].id if refs else None,
                            "corrected_invoices": [ref.as_json() for ref in refs]})
    return updates


def credit_notes_of_batch(uow: UnitOfWork, tenant_id: int, batch_id: int) -> list[dict[str, Any]]:
    """The batch's credit notes for review: decided ones (approved batch) as stored; in a draft, the invoices that
    will become credit notes at approval, with the invoices they would refer to today."""
    rows = [row for row in uow.invoices.documents(batch_id)
            if row.document_type == CREDIT_NOTE or (row.status == "draft" and is_credit_note(row.gross))]
    drafts = [row.id for row in rows if row.status == "draft"]
    pending = corrected_invoices(uow, tenant_id, drafts) if drafts else {}
    return [{"id": row.id, "number": row.number, "customer": row.customer, "currency": row.currency,
             "gross": row.gross, "decided": row.status != "draft",
             "corrects": (row.corrected_invoices if row.status != "draft"
                          else [ref.as_json() for ref in pending[row.id]])} for row in rows]


def credit_note_facts(uow: UnitOfWork, invoice: Any) -> dict[str, Any]:
    """What an invoice page shows about its type: ``credit_note`` (decided, or pending approval for a negative
    draft) and the invoices it corrects, most recent (the one its document refers to) first."""
    if invoice.status == "draft":
        pending = is_credit_note(invoice.gross)
        refs = corrected_invoices(uow, invoice.tenant_id, [invoice.id])[invoice.id] if pending else []
        return {"document_type": CREDIT_NOTE if pending else INVOICE, "credit_note": pending,
                "corrects": [ref.as_json() for ref in refs]}
    credit = invoice.document_type == CREDIT_NOTE
    return {"document_type": invoice.document_type, "credit_note": credit,
            "corrects": list(invoice.corrected_invoices or []) if credit else []}
