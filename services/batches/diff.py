"""Should-be-billed minus already-billed, per base key: the rule that makes rebuilds idempotent and late data visible.

A key never billed becomes a version-1 line; a billed key whose amount now differs becomes a correction (version + 1,
``corrects_line_key`` = the last billed version, signed difference, reason code); a billed key that should no longer
exist is corrected to zero. Lines for months whose batch is already closed carry a reason code even at version 1,
because they are late data, never an edit of what was exported (billing-rules.md §9).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from services.batches.lines import LICENCE_KINDS, BilledLine, DesiredLine, DraftLine, line_key

LATE_SNAPSHOT = "late_snapshot"
LATE_USAGE = "late_usage"
LATE_PURCHASE = "late_purchase"  # a one-time purchase or refund the vendor reported after its month was closed
PRICE_CORRECTION = "price_correction"
LATE_COST = "late_cost"
REPRICE = "reprice"


def charge_kind_of(base: str) -> str:
    """The charge kind segment of a base key (``charge``, ``credit``, ``usage:<meter>``)."""
    return base.rsplit("/", 1)[1]


def kept_as_billed(billed: Mapping[str, Sequence[BilledLine]], unrated: Collection[int]) -> set[str]:
    """The billed licence keys (charges and credits) of the subscriptions in ``unrated``, which the build could not
    rate (a fractional seat count, no price rule and no cost, no exchange rate): ``diff_lines``' ``settled``.

    Why: a licence the build cannot rate has no desired lines, and a billed key without one is corrected to zero,
    which credits the customer for a price the ledger is missing. Unknown is not zero: the build reports the
    licence (the batch's problems) and leaves what was billed as it is until it can be rated again."""
    if not unrated:
        return set()
    return {base for base, versions in billed.items()
            if versions[0].subscription_id in unrated and charge_kind_of(base) in LICENCE_KINDS}


def _late_reason(base: str) -> str:
    kind = charge_kind_of(base)
    if kind.startswith("one_time"):
        return LATE_PURCHASE
    return LATE_USAGE if kind.startswith("usage") else LATE_SNAPSHOT


def _correction_reason(base: str, desired: DesiredLine | None, billed: Sequence[BilledLine]) -> str:
    """Why a billed key changed: an explicit reprice, late usage, a vendor cost that arrived late (prices read the
    book as it stood when the period was invoiced, so only the cost can move a price by itself), a price that moved
    for another reason (the tenant's price policy), or a late snapshot or mutation."""
    original = billed[0]
    if desired is not None and "reprice" in desired.lineage:
        return REPRICE
    if charge_kind_of(base).startswith(("usage", "one_time")):
        return _late_reason(base)
    if desired is not None and desired.quantity == original.quantity and desired.unit_price != original.unit_price:
        return LATE_COST if str(desired.lineage.get("price_version", "")).startswith("cost ") else PRICE_CORRECTION
    return LATE_SNAPSHOT


def credited_charge(credit_base_key: str, lineage: Mapping[str, Any]) -> str | None:
    """The base key of the charge a credit line credits: rating lineage ``details.credits`` names the credited
    stretch's start; the stretch ends where the credit ends."""
    credited = lineage.get("details", {}).get("credits")
    if not credited:
        return None
    prefix, span, _ = credit_base_key.rsplit("/", 2)
    return f"{prefix}/{credited.split('/')[3]}..{span.split('..')[1]}/charge"


def corrected_key(want: DesiredLine, desired: Mapping[str, DesiredLine],
                  billed: Mapping[str, Sequence[BilledLine]]) -> str | None:
    """For a late credit/rebill pair in a closed month: the billed line whose stretch it credits, so the correction
    points at what it changes."""
    prefix, span, kind = want.base_key.rsplit("/", 2)
    credit = want if kind == "credit" else desired.get(f"{prefix}/{span}/credit")
    target = credited_charge(credit.base_key, credit.written().lineage) if credit is not None else None
    done = billed.get(target) if target else None
    return done[-1].line_key if done else None


def credited_key(want: DesiredLine, billed: Mapping[str, Sequence[BilledLine]]) -> str | None:
    """The line a credit names (``DesiredLine.credits``): its last billed version, else its first version, which
    this same draft bills."""
    if want.credits is None:
        return None
    done = billed.get(want.credits)
    return done[-1].line_key if done else line_key(want.credits, 1)


def _new_line(desired: DesiredLine, reason: str | None, corrects: str | None = None) -> DraftLine:
    desired.written()
    lineage = desired.lineage if reason is None else {**desired.lineage, "late": {"reason": reason}}
    return DraftLine(
        line_key=line_key(desired.base_key, 1),
        base_key=desired.base_key,
        version=1,
        kind="correction" if reason else desired.charge_kind,
        customer_id=desired.customer_id,
        subscription_id=desired.subscription_id,
        period_from=desired.period_from,
        period_to=desired.period_to,
        bill_month=desired.bill_month,
        description=desired.description,
        quantity=desired.quantity,
        unit_price=desired.unit_price,
        amount=desired.amount,
        unrounded=desired.unrounded,
        currency=desired.currency,
        lineage=lineage,
        reason_code=reason,
        corrects_line_key=corrects,
        group=desired.group,
    )


def _correction(base: str, desired: DesiredLine | None, billed: Sequence[BilledLine]) -> DraftLine | None:
    billed_sum = sum((line.amount for line in billed), Decimal(0))
    should = desired.amount if desired is not None else Decimal(0)
    difference = should - billed_sum
    if difference == 0:
        return None
    if desired is not None:
        desired.written()
    last = billed[-1]
    original = billed[0]
    reason = _correction_reason(base, desired, billed)
    version = last.version + 1
    source = desired.lineage if desired is not None else {}
    lineage = {
        **source,
        "correction": {
            "reason": reason,
            "should": str(should),
            "billed": str(billed_sum),
            "billed_lines": [line.line_key for line in billed],
            "formula": f"{should} (should be billed now) − {billed_sum} (already billed) = {difference}",
        },
    }
    what = desired.description if desired is not None else original.description
    return DraftLine(
        line_key=line_key(base, version),
        base_key=base,
        version=version,
        kind="correction",
        customer_id=original.customer_id,
        subscription_id=original.subscription_id,
        period_from=desired.period_from if desired is not None else original.period_from,
        period_to=desired.period_to if desired is not None else original.period_to,
        bill_month=desired.bill_month if desired is not None else original.bill_month,
        description=f"Correction ({reason}) of {what}",
        quantity=Decimal(1),
        unit_price=difference,
        amount=difference,
        unrounded=difference,
        currency=original.currency,
        lineage=lineage,
        corrects_line_key=last.line_key,
        reason_code=reason,
        group=desired.group if desired is not None else None,
    )


def diff_lines(
    month: str,
    desired: Mapping[str, DesiredLine],
    billed: Mapping[str, Sequence[BilledLine]],
    closed_months: Collection[str],
    settled: Collection[str] = frozenset(),
) -> list[DraftLine]:
    """The draft lines of the batch of ``month``, in base-key order.

    ``desired`` and ``billed`` hold only keys this batch owns (the caller filters by bill month); ``billed`` lists
    each key's billed versions in version order; ``closed_months`` are months whose batch is approved or exported;
    ``settled`` are billed keys the caller found billed exactly as they should be (``bulk_licence_lines``), or of
    licences it could not rate (:func:`kept_as_billed`), left out of ``desired``: nothing to write for them.
    """
    lines: list[DraftLine] = []
    for base in sorted((desired.keys() | billed.keys()).difference(settled)):
        want = desired.get(base)
        done = billed.get(base)
        if done:
            line = _correction(base, want, done)
        elif want is not None and want.amount != 0:
            late = want.bill_month != month and want.bill_month in closed_months
            if late:
                line = _new_line(want, _late_reason(base),
                                 credited_key(want, billed) or corrected_key(want, desired, billed))
            else:
                line = _new_line(want, None, credited_key(want, billed))
        else:
            line = None
        if line is not None:
            lines.append(line)
    return lines

