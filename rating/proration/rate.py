"""The rating entry point: every charge, credit and rebill of a subscription's charge periods in a window.

Why here: this is the one walk over billing periods and the timeline that decides which lines exist: a charge per
charge period with the state on its first day, and per later change a credit of the line in force and a rebill
("wipe and recreate", as Partner Center does). The amounts come from :func:`charge` and
:func:`~rating.proration.credits.credit_invoiced`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction

from rating.fx import FxRate
from rating.lineage import Lineage
from rating.periods import BillingPeriod, Convention, day_fraction, days_inclusive, period_containing, periods_from
from rating.proration.credits import credit_invoiced
from rating.proration.lines import LineKey, LineKind, RatedLine, fx_details
from rating.proration.terms import Change, PricePolicy, SubscriptionTerms, Window
from rating.proration.timeline import State, timeline
from rating.rounding import RoundingPolicy, round_amount


def charge(
    terms: SubscriptionTerms,
    period: BillingPeriod,
    period_start: date,
    start: date,
    state: State,
    convention: Convention,
    rounding: RoundingPolicy,
) -> RatedLine:
    """The charge of ``state`` over ``[start, period.end]`` of the charge period beginning ``period_start``, rounded
    once, with its lineage (the term or renewal it falls in, the calendar days, the exchange rate if any: the one
    the terms give for this line's bill date, so each charge may have its own)."""
    quantity = state.billed_quantity(terms.bills_when_suspended)
    days, total_days = day_fraction(start, period.end, period, convention)
    unrounded = quantity * Fraction(state.unit_price) * Fraction(days, total_days)
    formula = f"{quantity} × {state.unit_price} × {days}/{total_days}"
    bill_date = terms.timing.bill_date(period, start)
    fx = terms.rate_on(bill_date)
    if fx is not None:
        unrounded = fx.convert(unrounded)
        formula += f" × {fx.text}"
    lineage = Lineage(
        input_ids=state.input_ids,
        price_version=state.price_version,
        convention=convention.value,
        formula=formula,
        unrounded=unrounded,
        rounding=rounding.value,
        details=charge_details(terms, period, period_start, start, state, fx),
    )
    return RatedLine(
        key=LineKey(terms.subscription_id, period_start, LineKind.CHARGE, start),
        period=period,
        stretch_end=period.end,
        quantity=quantity,
        unit_price=state.unit_price,
        product=state.product,
        days=days,
        period_days=total_days,
        unrounded=unrounded,
        amount=round_amount(unrounded, terms.currency, rounding),
        formula=formula,
        lineage=lineage,
        bill_date=bill_date,
        fx=fx,
    )


def charge_details(terms: SubscriptionTerms, period: BillingPeriod, period_start: date, start: date, state: State,
                   fx: FxRate | None) -> dict[str, str]:
    """The lineage details of a charge over ``[start, period.end]`` (also written by the vectorised path): the
    billing period, the calendar days, the term or renewal it falls in, the product, the timing and the rate."""
    anchor = terms.effective_anchor
    renewal = (period_containing(anchor, terms.term_months, period_start).index
               - period_containing(anchor, terms.term_months, terms.start).index)
    return {
        "billing_period": f"{period.start.isoformat()}..{period.end.isoformat()}",
        "calendar_days": str(days_inclusive(start, period.end)),
        "term": "initial" if renewal == 0 else f"renewal {renewal}",
        "product": state.product or "",
        "timing": terms.timing.value,
        **(fx_details(fx, state.unit_price) if fx else {}),
    }


def rate_subscription(
    terms: SubscriptionTerms,
    changes: Sequence[Change],
    window: Window,
    convention: Convention,
    rounding: RoundingPolicy,
    price_policy: PricePolicy = PricePolicy.PRORATED,
) -> list[RatedLine]:
    """Every line of every charge period whose first day lies in ``window`` (inclusive), in order.

    ``changes`` must be in date order, none before ``terms.start``. Per charge period: the charge with the state
    on its first day (a change on that day is applied first, no credit/rebill pair), then per later change a
    credit of the line in force and, unless the new state bills nothing (cancel, zero seats), a rebill; both
    over ``[change, period end]``. After the term the subscription renews on the same anchor until cancelled.
    """
    states = timeline(terms, changes, price_policy)
    lines: list[RatedLine] = []
    cursor = 0
    for period in periods_from(terms.effective_anchor, terms.billing_months, terms.start):
        period_start = max(period.start, terms.start)
        if period_start > window.end:
            break
        while cursor + 1 < len(states) and states[cursor + 1][0] <= period_start:
            cursor += 1
        state = states[cursor][1]
        if not state.active:
            break
        if period_start < window.start:
            continue
        current = None
        if state.billed_quantity(terms.bills_when_suspended) > 0:
            current = charge(terms, period, period_start, period_start, state, convention, rounding)
            lines.append(current)
        for day, new_state in states[cursor + 1:]:
            if day > period.end:
                break
            if current is not None:
                lines.append(credit_invoiced(current.invoiced(), day, convention, rounding,
                                             input_ids=new_state.day_ids, timing=terms.timing))
            current = None
            if new_state.billed_quantity(terms.bills_when_suspended) > 0:
                current = charge(terms, period, period_start, day, new_state, convention, rounding)
                lines.append(current)
    return lines
