"""Which open invoices a bank entry pays, how sure we are, and why: the cash-application rules as pure functions.

Why pure and ordered: finance has to trust the straight-through rate, so every proposal carries its score and the
sentences that produced it, and the rules are tried from the most to the least certain evidence. A structured
creditor reference (ISO 11649) names the invoice; an invoice number in the remittance text nearly does; otherwise the
payer is identified (an IBAN or a name variant finance confirmed before, or a fuzzy match of the payer's name with
rapidfuzz) and the amount must equal one open invoice or a combination of the payer's open invoices. What is left
over is settled by the same rule each time: oldest invoice first, a shortfall within the tolerance is bank charges, a
larger one a partial payment, an excess stays on account. Amounts are signed: money in (credit entries) pays invoices
(positive open amounts), money out (debit entries, refunds) settles credit notes (negative open amounts); the two
never mix. A proposal never allocates more than the entry's amount, nor more than an invoice's open amount.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process
from stdnum.iso11649 import compact, is_valid

from rating.payments.reference import creditor_reference, references_in

ZERO = Decimal(0)
LEGAL_FORMS = frozenset({"bv", "nv", "gmbh", "ag", "kg", "ug", "ltd", "limited", "inc", "llc", "plc", "sa", "sarl",
                         "srl", "spa", "ab", "as", "oy", "co", "und", "en", "and"})
COMBINATION_ITEMS = 12  # the payer's oldest open invoices searched for a combination that adds up to the amount
COMBINATION_SIZE = 6  # at most this many invoices paid by one transfer


@dataclass(frozen=True)
class OpenItem:
    """What an invoice still asks for: positive for an invoice, negative for a credit note."""

    invoice_id: int
    number: str
    customer_id: int
    open: Decimal
    currency: str
    issue_date: dt.date

    @property
    def reference(self) -> str:
        return creditor_reference(self.number)


@dataclass(frozen=True)
class BankPayment:
    """One booked bank entry as the matcher sees it: signed amount (credit positive, debit negative)."""

    amount: Decimal
    currency: str
    payer_name: str | None = None
    payer_iban: str | None = None
    reference: str | None = None  # the structured creditor reference, when the bank passed one
    text: str = ""  # the unstructured remittance information


@dataclass(frozen=True)
class Known:
    """What finance taught the matcher: payer IBANs and (normalised) payer names, each to a customer id, and the
    customers' own names."""

    customers: Mapping[int, str] = field(default_factory=dict)
    ibans: Mapping[str, int] = field(default_factory=dict)
    names: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    auto_apply_score: int = 85  # a proposal scoring this or more is applied without a person
    charges_tolerance: Decimal = Decimal("5.00")  # a shortfall up to this is bank charges, the invoice is settled
    name_threshold: int = 85  # rapidfuzz ratio (0-100) from which a payer name counts as a customer's


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    number: str
    amount: Decimal  # signed like the open item
    settles: bool  # the invoice is paid in full (or within the bank-charges tolerance)


@dataclass(frozen=True)
class Proposal:
    customer_id: int | None
    allocations: tuple[Allocation, ...]
    score: int  # 0-100
    reasons: tuple[str, ...]
    charges: Decimal = ZERO  # shortfall accepted as bank charges
    unapplied: Decimal = ZERO  # signed part of the entry left on account (over-payment)

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    def automatic(self, policy: Policy) -> bool:
        return bool(self.allocations) and self.score >= policy.auto_apply_score


def normalised_name(name: str) -> str:
    """A payer or customer name reduced for comparison: case, punctuation and legal forms dropped."""
    words = default_process(name.replace(".", "")).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def normalised_iban(iban: str) -> str:
    return re.sub(r"\s", "", iban).upper()


def propose(payment: BankPayment, items: Iterable[OpenItem], known: Known, policy: Policy) -> Proposal:
    """The best proposal for ``payment`` among ``items`` (every open item of the legal entity)."""
    sign = 1 if payment.amount > 0 else -1
    candidates = sorted((i for i in items if i.currency == payment.currency and i.open * sign > 0),
                        key=lambda i: (i.issue_date, i.number))
    if payment.amount == 0 or not candidates:
        return Proposal(None, (), 0, ("nothing open in this direction and currency",))
    text = " ".join(filter(None, (payment.reference, payment.text)))
    refs = set(references_in(text))
    if payment.reference and is_valid(payment.reference):
        refs.add(compact(payment.reference))
    by_ref = [i for i in candidates if i.reference in refs]
    if by_ref:
        return settle(payment, by_ref, 100, [f"structured reference {i.reference} is invoice {i.number}"
                                            for i in by_ref], policy)
    by_number = [i for i in candidates if _number_in(i.number, text)]
    if by_number:
        return settle(payment, by_number, 95, [f"invoice number {i.number} in the remittance text"
                                               for i in by_number], policy)
    customer, score, reason = identify(payment, known, policy)
    if customer is None:
        same = [i for i in candidates if i.open == payment.amount]
        if len(same) == 1:
            return settle(payment, same, 55, [f"payer unknown; amount equals the open amount of {same[0].number} "
                                              "and of no other invoice"], policy)
        return Proposal(None, (), 0, ("nothing matches: no reference, no invoice number, payer unknown",))
    own = [i for i in candidates if i.customer_id == customer]
    if not own:
        return Proposal(customer, (), 30, (reason, "the customer has no open invoice in this direction"))
    combos = _combinations(own, abs(payment.amount), policy.charges_tolerance)
    if combos:
        chosen = combos[0]
        reasons = [reason, f"amount matches {len(chosen)} open invoice(s): {', '.join(i.number for i in chosen)}"]
        if len(combos) > 1:
            score -= 25
            reasons.append(f"{len(combos)} combinations of open invoices fit equally; the oldest was taken")
        return settle(payment, chosen, score, reasons, policy)
    return settle(payment, own, score - 30, [reason, "amount fits no combination of the customer's open invoices"],
                  policy)


def identify(payment: BankPayment, known: Known, policy: Policy) -> tuple[int | None, int, str]:
    """The customer who paid, the score of that evidence and its sentence (``None`` when nobody is sure)."""
    if payment.payer_iban:
        iban = normalised_iban(payment.payer_iban)
        if iban in known.ibans:
            return known.ibans[iban], 92, f"payer IBAN {iban} is known for the customer"
    if not payment.payer_name:
        return None, 0, "no payer name"
    name = normalised_name(payment.payer_name)
    if name in known.names:
        return known.names[name], 90, f"payer name {payment.payer_name!r} was confirmed for the customer before"
    choices = {cid: normalised_name(n) for cid, n in known.customers.items()}
    choices.update({f"learned:{variant}": variant for variant in known.names})
    best = process.extract(name, choices, scorer=fuzz.ratio, limit=None, score_cutoff=policy.name_threshold)
    if not best:
        return None, 0, f"payer name {payment.payer_name!r} resembles no customer"
    top = best[0][1]
    rivals = [s for _, s, key in best if _owner(key, known) != _owner(best[0][2], known)]
    if rivals and top - max(rivals) < 5:
        return None, 0, f"payer name {payment.payer_name!r} resembles several customers"
    span = 100 - policy.name_threshold or 1
    score = 78 + round(12 * (top - policy.name_threshold) / span)
    return _owner(best[0][2], known), score, f"payer name {payment.payer_name!r} resembles the customer ({top:.0f} %)"


def settle(payment: BankPayment, items: Sequence[OpenItem], score: int, reasons: list[str],
           policy: Policy) -> Proposal:
    """Allocate the entry to ``items`` oldest first and say what the difference is."""
    sign = 1 if payment.amount > 0 else -1
    remaining = abs(payment.amount)
    owed = sum((abs(i.open) for i in items), ZERO)
    shortfall = owed - remaining
    charges = shortfall if ZERO < shortfall <= policy.charges_tolerance else ZERO
    allocations = []
    for item in sorted(items, key=lambda i: (i.issue_date, i.number)):
        take = min(remaining, abs(item.open))
        if take <= 0:
            break
        remaining -= take
        settles = take == abs(item.open) or (charges > 0 and remaining == 0)
        allocations.append(Allocation(item.invoice_id, item.number, take * sign, settles))
    reasons = list(reasons)
    if remaining > 0:
        score -= 10
        reasons.append(f"over-payment: {remaining} {payment.currency} left on account")
    elif charges:
        score -= 5
        reasons.append(f"short by {charges} {payment.currency}: bank charges within the tolerance of "
                       f"{policy.charges_tolerance}")
    elif shortfall > 0:
        score -= 15
        reasons.append(f"partial payment: {abs(payment.amount)} of {owed} {payment.currency}")
    customers = {i.customer_id for i in items}
    return Proposal(customers.pop() if len(customers) == 1 else None, tuple(allocations), max(0, min(100, score)),
                    tuple(reasons), charges, remaining * sign)


def _combinations(own: Sequence[OpenItem], amount: Decimal, tolerance: Decimal) -> list[tuple[OpenItem, ...]]:
    """Combinations of the payer's oldest open items whose total is the amount, or above it by at most the
    tolerance (bank charges): the exact ones when there are any, else those with the smallest shortfall."""
    pool = own[:COMBINATION_ITEMS]
    best: list[tuple[OpenItem, ...]] = []
    best_gap: Decimal | None = None
    for size in range(1, min(len(pool), COMBINATION_SIZE) + 1):
        for combo in itertools.combinations(pool, size):
            gap = sum((abs(i.open) for i in combo), ZERO) - amount
            if gap < 0 or gap > tolerance:
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = [combo], gap
            elif gap == best_gap:
                best.append(combo)
    return best


def _number_in(number: str, text: str) -> bool:
    pattern = _number_pattern(number)
    return bool(text) and pattern is not None and pattern.search(text) is not None


@functools.lru_cache(maxsize=65536)
def _number_pattern(number: str) -> re.Pattern[str] | None:
    """The invoice number as a whole word, its separators optional or any of space . / _ -."""
    parts = [re.escape(p) for p in re.split(r"[^0-9A-Za-z]+", number) if p]
    if not parts:
        return None
    return re.compile(r"(?<![0-9A-Za-z])" + r"[\s./_-]?".join(parts) + r"(?![0-9A-Za-z])", re.IGNORECASE)


def _owner(key: int | str, known: Known) -> int:
    return known.names[key.removeprefix("learned:")] if isinstance(key, str) else key
