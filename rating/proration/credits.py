"""Credits of already-invoiced lines (billing-rules.md §4.2).

Why apart: a credit is computed from what was invoiced, never re-priced at today's price, and is capped by what
remains of the credited line. It is used inside a rating run (the credit of a wipe-and-recreate pair) and on its
own by corrections of lines that were invoiced in an earlier, closed period.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from rating.lineage import Lineage, format_unrounded
from rating.money import Money
from rating.periods import BillingPeriod, Convention, day_fraction, days_inclusive
from rating.proration.lines import InvoicedLine, LineKey, LineKind, RatedLine, fx_details
from rating.proration.terms import Timing
from rating.rounding import RoundingPolicy, round_amount


def cap_note(floor: Decimal) -> str:
    """What a capped credit's formula adds: the floor it was capped at."""
    return f", capped at {floor} (what remains of the credited line)"


def credit_details(period: BillingPeriod, stretch_end: date, credited: LineKey, product: str | None,
                   effective: date) -> dict[str, str]:
    """The lineage details of a credit from ``effective`` of the line ``credited`` (also written by the vectorised
    path): the billing period, the calendar days, the credited line's key and the product; a converted line adds
    the rate it was charged at."""
    return {
        "billing_period": f"{period.start.isoformat()}..{period.end.isoformat()}",
        "calendar_days": str(days_inclusive(effective, stretch_end)),
        "credits": "/".join(str(part) for part in credited.as_tuple()),
        "product": product or "",
    }


def credit_invoiced(
    line: InvoicedLine,
    effective: date,
    convention: Convention,
    rounding: RoundingPolicy,
    *,
    credited_so_far: Money | None = None,
    sequence: int = 0,
    input_ids: tuple[str, ...] = (),
    timing: Timing = Timing.ADVANCE,
) -> RatedLine:
    """Credit ``[effective, line.stretch_end]`` of an already-invoiced line (billing-rules.md §4.2).

    ``−A_L × f(effective, end) / f_L`` from the line's own unrounded amount and fraction (never re-priced), rounded
    by ``rounding`` and then capped so that, with ``credited_so_far`` (the signed sum of earlier credits and
    adjustments on the line, ≤ 0), it never exceeds the amount as invoiced. A converted line is credited at the
    rate it was invoiced with (its unrounded amount is already in the invoice currency), never today's rate.
    """
    if not line.key.stretch_start <= effective <= line.stretch_end:
        raise ValueError(f"{effective} is outside the invoiced stretch {line.key.stretch_start}..{line.stretch_end}")
    currency = line.amount.currency
    days, total_days = day_fraction(effective, line.stretch_end, line.period, convention)
    unrounded = -line.unrounded * Fraction(days, total_days) / line.fraction
    if line.unrounded == line.quantity * Fraction(line.unit_price) * line.fraction:
        formula = f"-{line.quantity} × {line.unit_price} × {days}/{total_days}"
    else:
        formula = f"-{format_unrounded(line.unrounded)} × {days}/{total_days} ÷ {line.fraction}"
    amount = round_amount(unrounded, currency, rounding)
    remaining = line.amount + (credited_so_far or Money.zero(currency))
    floor = -remaining if remaining.amount > 0 else Money.zero(currency)
    if amount.amount < floor.amount:
        amount = floor
        formula += cap_note(floor.amount)
    lineage = Lineage(
        input_ids=input_ids,
        price_version=line.price_version,
        convention=convention.value,
        formula=formula,
        unrounded=unrounded,
        rounding=rounding.value,
        details={**credit_details(line.period, line.stretch_end, line.key, line.product, effective),
                 **(fx_details(line.fx, line.unit_price) if line.fx else {})},
    )
    return RatedLine(
        key=LineKey(line.key.subscription, line.key.period_start, LineKind.CREDIT, effective, sequence),
        period=line.period,
        stretch_end=line.stretch_end,
        quantity=line.quantity,
        unit_price=line.unit_price,
        product=line.product,
        days=days,
        period_days=total_days,
        unrounded=unrounded,
        amount=amount,
        formula=formula,
        lineage=lineage,
        bill_date=timing.bill_date(line.period, effective),
        fx=line.fx,
    )
