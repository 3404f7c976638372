"""Applying payments: the matcher's proposal for an entry computed from the ledger, applied when it is sure enough
(or when finance says so), and what finance decided remembered for the next statement.

Why one module for the writes: every path that moves money onto an invoice (automatic, accepted, re-assigned) goes
through ``apply``, which re-checks each invoice's open amount inside the caller's transaction, so an entry is never
applied twice and an invoice is never paid beyond what it asks, whoever clicked first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

from config import Settings
from ledger.models import BankEntry, PayerHint, PaymentApplication
from rating.money import minor_units
from rating.payments.matching import (
    BankPayment,
    Known,
    OpenItem,
    Policy,
    Proposal,
    normalised_iban,
    normalised_name,
    propose,
)
from services.errors import ValidationFailed
from services.uow import UnitOfWork

MATCHER = "matcher"  # decided_by / applied_by of automatic applications


def policy_of(settings: Settings) -> Policy:
    config = settings.payments
    return Policy(config.auto_apply_score, config.charges_tolerance, config.name_threshold)


def open_items(uow: UnitOfWork, tenant_id: int) -> list[OpenItem]:
    return [OpenItem(row.id, row.number, row.customer_id, row.gross - row.paid, row.currency,
                     row.issue_date or dt.date.min) for row in uow.payments.open_items(tenant_id)]


def known(uow: UnitOfWork, tenant_id: int) -> Known:
    hints = uow.payments.hints(tenant_id)
    return Known(uow.payments.customers(tenant_id),
                 {h.value: h.customer_id for h in hints if h.kind == "iban"},
                 {h.value: h.customer_id for h in hints if h.kind == "name"})


def payment_of(entry: BankEntry) -> BankPayment:
    return BankPayment(entry.amount, entry.currency, entry.payer_name, entry.payer_iban, entry.reference,
                       entry.text or "")


def proposal_record(proposal: Proposal, items: list[OpenItem]) -> dict[str, Any]:
    """The proposal as stored on the entry: each allocation with the bank charges it writes off."""
    open_of = {i.invoice_id: i for i in items}
    return {
        "customer_id": proposal.customer_id,
        "allocations": [{"invoice_id": a.invoice_id, "number": a.number,
                         "amount": money(a.amount, open_of[a.invoice_id].currency),
                         "charges": money(open_of[a.invoice_id].open - a.amount if a.settles else Decimal(0),
                                          open_of[a.invoice_id].currency)}
                        for a in proposal.allocations],
        "score": proposal.score,
        "reasons": list(proposal.reasons),
        "unapplied": str(proposal.unapplied),
    }


def money(amount: Decimal, currency: str) -> str:
    """An amount as text with the currency's minor units (the ledger keeps exact decimals without trailing zeros)."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_units(currency))))


def match(uow: UnitOfWork, entry: BankEntry, policy: Policy, now: dt.datetime, items: list[OpenItem],
          hints: Known) -> str:
    """Propose for ``entry`` among ``items`` (the legal entity's open items, kept current here as entries are
    applied, so a statement is matched with one read of the ledger); apply when the score reaches the threshold,
    else queue it. Returns the new status."""
    proposal = propose(payment_of(entry), items, hints, policy)
    entry.proposal = proposal_record(proposal, items)
    entry.score = proposal.score
    if proposal.automatic(policy):
        apply(uow, entry, entry.proposal, "automatic", MATCHER, now, items)
        paid = {a["invoice_id"]: Decimal(a["amount"]) + Decimal(a["charges"]) for a in entry.proposal["allocations"]}
        items[:] = [replace(i, open=i.open - paid.get(i.invoice_id, Decimal(0))) for i in items
                    if i.open != paid.get(i.invoice_id)]
    else:
        entry.status = "review" if proposal.allocations else "unmatched"
    return entry.status


def apply(uow: UnitOfWork, entry: BankEntry, proposal: dict[str, Any], how: str, by: str,
          now: dt.datetime, items: list[OpenItem] | None = None) -> list[PaymentApplication]:
    """Apply ``proposal``'s allocations to their invoices, refusing any that is no longer open for that much
    (``items``: the open items as the caller holds them in this transaction; default: read them)."""
    if entry.status == "applied":
        raise ValidationFailed(f"bank entry {entry.id}: already applied; unapply it first to apply it again")
    current = {i.invoice_id: i for i in (open_items(uow, entry.tenant_id) if items is None else items)}
    # what the caller read may be stale: another entry applied to these invoices since is waited for, then counted
    still_open = uow.payments.still_open([allocation["invoice_id"] for allocation in proposal["allocations"]])
    total = Decimal(0)
    rows = []
    for allocation in proposal["allocations"]:
        amount, charges = Decimal(allocation["amount"]), Decimal(allocation["charges"])
        item = current.get(allocation["invoice_id"])
        open_now = still_open.get(allocation["invoice_id"], Decimal(0))
        if item is None or amount * open_now <= 0 or abs(amount + charges) > abs(open_now):
            still = "nothing" if item is None else f"{money(open_now, item.currency)} {item.currency}"
            raise ValidationFailed(f"bank entry {entry.id}: invoice {allocation['number']}: field amount: "
                                   f"{amount} no longer fits what is open ({still}); match again")
        total += amount
        rows.append(PaymentApplication(
            entry_id=entry.id, tenant_id=entry.tenant_id, invoice_id=item.invoice_id, customer_id=item.customer_id,
            amount=amount, charges=charges, currency=entry.currency, how=how, score=proposal["score"],
            reasons=list(proposal["reasons"]), applied_by=by, applied_at=now))
    if not rows or abs(total) > abs(entry.amount) or total * entry.amount < 0:
        raise ValidationFailed(f"bank entry {entry.id}: field amount: allocations of {total} do not fit the entry's "
                               f"{entry.amount} {entry.currency}")
    uow.session.add_all(rows)
    entry.status, entry.decided_by, entry.decided_at = "applied", by, now
    entry.customer_id = rows[0].customer_id
    entry.proposal = proposal
    uow.audit.record(by, "payment.apply", "bank_entry", entry.id, entry.tenant_id,
                     after={"how": how, "score": proposal["score"], "applied": [
                         {"invoice": a["number"], "amount": a["amount"], "charges": a["charges"]}
                         for a in proposal["allocations"]]},
                     detail="; ".join(proposal["reasons"]), at=now)
    return rows


def learn(uow: UnitOfWork, entry: BankEntry, customer_id: int, by: str, now: dt.datetime) -> list[str]:
    """Remember the entry's payer IBAN and name for ``customer_id``; returns what was learned or changed."""
    learned = []
    for kind, value in (("iban", entry.payer_iban and normalised_iban(entry.payer_iban)),
                        ("name", entry.payer_name and normalised_name(entry.payer_name))):
        if not value:
            continue
        hint = uow.payments.hint(entry.tenant_id, kind, value)
        if hint is not None and hint.customer_id == customer_id:
            continue
        before = None if hint is None else {"customer_id": hint.customer_id}
        if hint is None:
            uow.session.add(PayerHint(tenant_id=entry.tenant_id, kind=kind, value=value, customer_id=customer_id,
                                      learned_by=by, learned_at=now))
        else:
            hint.customer_id, hint.learned_by, hint.learned_at = customer_id, by, now
        uow.audit.record(by, "payment.learn", "payer_hint", f"{kind}:{value}", entry.tenant_id, before=before,
                         after={"customer_id": customer_id}, detail=f"from bank entry {entry.id}", at=now)
        learned.append(f"{kind} {value}")
    return learned
