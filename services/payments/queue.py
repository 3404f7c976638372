"""The review queue: finance accepts the matcher's proposal, re-assigns an entry to the invoices it really pays, or
takes an application back (unapply) with a reason. Every decision is audited; accepting and re-assigning teach the
matcher the payer's IBAN and name for that customer, which it uses from the next entry on.

Why unapply keeps the rows: an application that was wrong is history too. It is marked unapplied (who, when, why),
the invoices are open again, and the entry goes back to the queue with its proposal, so it can be decided again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import Settings
from ledger.models import BankEntry
from rating.payments.matching import settle
from services.access import Actor, readable_tenants, require
from services.clock import Clock, SystemClock
from services.errors import NotFound, ValidationFailed
from services.identity import confirm
from services.payments.applying import apply, learn, open_items, payment_of, policy_of, proposal_record
from services.runtime import engine_for
from services.uow import UnitOfWork

DECIDABLE = ("review", "unmatched")


@dataclass(frozen=True)
class Decision:
    entry_id: int
    status: str
    invoices: list[str]
    learned: list[str]

    @property
    def sentence(self) -> str:
        taught = f"; learned {', '.join(self.learned)}" if self.learned else ""
        paid = ", ".join(self.invoices) or "no invoice"
        return f"bank entry {self.entry_id}: {self.status} ({paid}){taught}"


def accept(settings: Settings, who: Actor, entry_id: int, clock: Clock | None = None) -> Decision:
    """Apply the matcher's proposal for a queued entry as it stands."""
    now = (clock or SystemClock()).now()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        entry = _decidable(uow, settings, who, entry_id)
        if not entry.proposal.get("allocations"):
            raise ValidationFailed(f"bank entry {entry_id}: field proposal: the matcher found no invoice; re-assign "
                                   "it to the invoices it pays")
        rows = apply(uow, entry, entry.proposal, "accepted", who.username, now)
        return Decision(entry_id, entry.status, [a["number"] for a in entry.proposal["allocations"]],
                        learn(uow, entry, rows[0].customer_id, who.username, now))


def reassign(settings: Settings, who: Actor, entry_id: int, invoice_numbers: Sequence[str],
             clock: Clock | None = None) -> Decision:
    """Apply a queued entry to the invoices finance names (one customer's), oldest first, by the same settlement
    rule the matcher uses (bank charges, partial and over-payment)."""
    now = (clock or SystemClock()).now()
    if not invoice_numbers:
        raise ValidationFailed(f"bank entry {entry_id}: field invoice: name at least one invoice number")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        entry = _decidable(uow, settings, who, entry_id)
        items = open_items(uow, entry.tenant_id)
        by_number = {i.number: i for i in items}
        chosen = []
        for number in invoice_numbers:
            if number not in by_number:
                invoice = uow.payments.invoice_by_number(entry.tenant_id, number)
                problem = "not found" if invoice is None else "nothing open"
                raise ValidationFailed(f"bank entry {entry_id}: field invoice: {number}: {problem}")
            if by_number[number].open * entry.amount <= 0:
                raise ValidationFailed(f"bank entry {entry_id}: field invoice: {number} is open for "
                                       f"{by_number[number].open}, the other direction from {entry.amount}")
            chosen.append(by_number[number])
        if len({i.customer_id for i in chosen}) != 1:
            raise ValidationFailed(f"bank entry {entry_id}: field invoice: the invoices belong to several customers")
        proposal = settle(payment_of(entry), chosen, 100, [f"re-assigned by {who.username}"], policy_of(settings))
        record = proposal_record(proposal, items)
        entry.score = proposal.score
        rows = apply(uow, entry, record, "reassigned", who.username, now, items)
        return Decision(entry_id, entry.status, [i.number for i in chosen],
                        learn(uow, entry, rows[0].customer_id, who.username, now))


def unapply(settings: Settings, who: Actor, entry_id: int, reason: str, clock: Clock | None = None) -> Decision:
    """Take back every application of an entry in force; the invoices are open again, the entry back in review."""
    now = (clock or SystemClock()).now()
    if not reason.strip():
        raise ValidationFailed(f"bank entry {entry_id}: field reason: say why the payment is unapplied")
    with UnitOfWork(engine_for(settings), write=True) as uow:
        entry = _entry(uow, settings, who, entry_id)
        rows = uow.payments.applications(entry.id)
        if entry.status != "applied" or not rows:
            raise ValidationFailed(f"bank entry {entry_id}: field status: {entry.status}, nothing to unapply")
        for row in rows:
            row.unapplied_by, row.unapplied_at, row.unapply_reason = who.username, now, reason
        entry.status, entry.decided_by, entry.decided_at, entry.customer_id = "review", None, None, None
        numbers = [a["number"] for a in entry.proposal.get("allocations", [])]
        uow.audit.record(who.username, "payment.unapply", "bank_entry", entry.id, entry.tenant_id,
                         before={"applied": [{"invoice_id": r.invoice_id, "amount": r.amount, "charges": r.charges}
                                             for r in rows]},
                         after={"status": "review"}, detail=reason, at=now)
        return Decision(entry_id, entry.status, numbers, [])


def _entry(uow: UnitOfWork, settings: Settings, who: Actor, entry_id: int) -> BankEntry:
    require(who, "finance")
    confirm(uow, who)
    tenants = readable_tenants(uow.session, settings, who, "finance")
    entry = uow.payments.entry(entry_id, lock=True)
    if entry is None or entry.tenant_id not in tenants:
        raise NotFound(f"bank entry {entry_id}: not found")
    require(who, "finance", tenants[entry.tenant_id])
    return entry


def _decidable(uow: UnitOfWork, settings: Settings, who: Actor, entry_id: int) -> BankEntry:
    entry = _entry(uow, settings, who, entry_id)
    if entry.status not in DECIDABLE:
        raise ValidationFailed(f"bank entry {entry_id}: field status: {entry.status}; only entries in review or "
                               "unmatched can be decided (unapply first)")
    return entry


__all__ = ["Decision", "accept", "reassign", "unapply"]
