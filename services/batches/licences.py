"""Licence lines of a batch: each subscription's timeline rated by ``rating.proration`` and keyed for the ledger.

The rating engine decides every amount (periods, day counts, credits capped by what was charged, one rounding per
line, conversion into the invoice currency); this module only chooses the window, keeps the lines whose bill date
falls in the months the batch owns, and attaches keys, descriptions and lineage. A month-end build rates the
subscriptions the vectorised engine covers (``rating.bulk_lines``) in a few whole-column runs instead of one scalar
run each; both give the same lines, so the keys, descriptions and lineage are attached by the same code. A converted
line is stored with its unit price and amount in the invoice currency; its lineage keeps the original currency, unit
price and the rate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any

from ledger.models import Subscription
from rating.months import month_of
from rating.periods import Convention
from rating.proration import PlainLine, PricePolicy, Window, rate_subscription
from rating.rounding import RoundingPolicy
from services.batches.lines import DesiredLine, base_key, exact_decimal
from services.batches.timeline import Timeline

LABELS = {"charge": "", "credit": "Credit: "}


def licence_window(timeline: Timeline, first_day: dt.date, last_day: dt.date) -> Window | None:
    """The window of charge periods rated for a batch billing (bill date) ``first_day`` to ``last_day``, both
    inclusive; ``None`` when nothing is.

    The timeline was built for this batch, with its go-live (the first day of the tenant's first batch): a charge
    period that opened before it was billed (if at all) by whatever billed the reseller before cspbill, so neither it
    nor the credits and rebills of changes inside it are billed here (a credit must come from what cspbill
    invoiced); billing starts with the next period (``timeline.first_rated_day``).
    """
    begin = max(first_day, timeline.terms.start)
    earliest, opening = timeline.rated_from, timeline.opening  # worked out by build_timeline for the same batch
    if earliest > opening.end or any(opening.start < change.effective <= opening.end for change in timeline.changes):
        begin = earliest  # the day after a period billed before cspbill, or the start of one whose changes it bills
    return Window(begin, last_day) if begin <= last_day else None


def licence_lines(tenant: str, sub: Subscription, timeline: Timeline, first_day: dt.date, last_day: dt.date,
                  convention: Convention, rounding: RoundingPolicy, price_policy: PricePolicy) -> list[DesiredLine]:
    """Desired lines of ``sub`` billed (bill date) from ``first_day`` to ``last_day``, both inclusive, rated by the
    scalar engine (the reference: ``cspbill rate`` and ``batch explain`` use it too)."""
    window = licence_window(timeline, first_day, last_day)
    if window is None:
        return []
    rated = rate_subscription(timeline.terms, timeline.changes, window, convention, rounding, price_policy)
    return [_desired(tenant, sub, line.plain(), timeline) for line in rated if first_day <= line.bill_date <= last_day]


@dataclass(frozen=True, slots=True)
class Rateable:
    """A subscription whose licence lines the vectorised engine rates: its timeline and window."""

    sub: Subscription
    timeline: Timeline
    window: Window


def bulk_licence_lines(tenant: str, rateable: Sequence[Rateable], first_day: dt.date, last_day: dt.date,
                       convention: Convention, rounding: RoundingPolicy, price_policy: PricePolicy,
                       defer_before: dt.date | None = None, billed_sums: Mapping[str, Decimal] | None = None,
                       ) -> tuple[dict[int, list[DesiredLine]], set[str]]:
    """:func:`licence_lines` of many subscriptions at once, each in ``rating.bulk_scope.in_scope``, with one
    vectorised rating per group of similar windows (periods starting before ``first_day`` are rated only for the
    subscriptions whose window reaches back, grouped by billing length so none rates many periods it drops). Lines
    billed before ``defer_before`` (the batch's own month: earlier ones are mostly compared with what was billed
    and dropped) get their description and lineage only when a caller asks (``DesiredLine.written``).

    With ``billed_sums`` (base key -> the sum billed under it): a charge of a month before ``defer_before`` whose
    amount equals what its key billed is not made into a line at all (the rating skips it: ``known``), only named in
    the set returned beside the lines (``diff_lines``' ``settled``). A build a year after go-live rates twelve billed
    months again, and nearly all of their charges are such lines: the diff would compare each and write nothing.
    Credits are always made: a late rebill names the charge its credit credits (``diff.corrected_key``)."""
    from rating.bulk_lines import Subject, rate_subjects  # with pandas, here: only a build rates, every command imports

    groups: dict[tuple[int, bool], list[Rateable]] = defaultdict(list)
    for item in rateable:
        groups[(item.timeline.terms.billing_months, item.window.start < first_day)].append(item)
    lines: dict[int, list[DesiredLine]] = defaultdict(list)
    settled = _Settled(tenant, {str(item.sub.id): item.sub for item in rateable}, billed_sums) if billed_sums else None
    for members in groups.values():
        by_id = {str(item.sub.id): item for item in members}
        subjects = [Subject.of(item.timeline.terms, item.timeline.changes, item.window.start, price_policy)
                    for item in members]
        window_start = min(item.window.start for item in members)
        for line in rate_subjects(subjects, window_start, last_day, convention, rounding, defer_before, settled):
            if first_day <= line.bill_date <= last_day:
                item = by_id[line.subscription]
                lines[item.sub.id].append(_desired(tenant, item.sub, line, item.timeline))
    return lines, settled.keys if settled is not None else set()


@dataclass
class _Settled:
    """The charges a build finds billed as they should be while the rating runs (``rate_subjects``' ``known``):
    their base keys, for ``diff_lines``' ``settled``. Only keys of the months the batch owns are billed (their
    charges' first days are in them), so a key found billed is one of the batch's."""

    tenant: str
    subs: Mapping[str, Subscription]  # by the id the rating names them with
    billed_sums: Mapping[str, Decimal]
    keys: set[str] = field(default_factory=set)

    def __call__(self, subscription: str, start: dt.date, end: dt.date, amount: Decimal) -> bool:
        sub = self.subs[subscription]
        key = base_key(self.tenant, sub.customer_id, sub.id, start, end, "charge")
        if self.billed_sums.get(key) != amount:
            return False
        self.keys.add(key)
        return True


def _described(sub: Subscription, line: PlainLine, timeline: Timeline) -> tuple[str, dict[str, Any]]:
    """The description and lineage of a licence line: the rating's lineage with the bill date, the day fraction, the
    reprice and the notes on the inputs it names."""
    kind, start = line.kind, line.stretch_start
    lineage = line.full_lineage()
    lineage["bill_date"] = line.bill_date.isoformat()
    lineage["days"] = f"{line.days}/{line.period_days}"
    repriced = timeline.repriced(line.period_start) if timeline.repriced is not None else None
    if repriced:
        lineage["reprice"] = repriced
    if timeline.notes:
        notes = {str(i): timeline.notes[str(i)] for i in lineage["input_ids"] if str(i) in timeline.notes}
        if notes:
            lineage["notes"] = notes
    product = line.product or sub.product_id
    priced_as = f"{line.unit_price}"
    if line.fx is not None:  # the ledger line is in the invoice currency; lineage keeps the original price and rate
        priced_as = f"{line.unit_price} {line.fx.base} at {line.fx.text}"
    description = (f"{LABELS[kind]}{sub.product_name} ({product}) {start.isoformat()}–{line.stretch_end.isoformat()}: "
                   f"{line.quantity} × {priced_as}")
    return description[:500], lineage


def _desired(tenant: str, sub: Subscription, line: PlainLine, timeline: Timeline) -> DesiredLine:
    """The desired line of a rated licence line; its description and lineage are built later (``written``) when
    the rating deferred the lineage (a line of a month already billed, most of which equal what was billed)."""
    unit_price = line.unit_price
    if line.fx is not None:
        unit_price = exact_decimal(line.fx.convert(Fraction(line.unit_price)))
    deferred = line.explain is not None
    description, lineage = ("", {}) if deferred else _described(sub, line, timeline)
    return DesiredLine(
        base_key=base_key(tenant, sub.customer_id, sub.id, line.stretch_start, line.stretch_end, line.kind),
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        charge_kind=line.kind,
        period_from=line.stretch_start,
        period_to=line.stretch_end,
        bill_month=month_of(line.bill_date),
        description=description,
        quantity=Decimal(line.quantity),
        unit_price=unit_price,
        amount=line.amount,
        unrounded=exact_decimal(line.unrounded),
        currency=line.currency,
        lineage=lineage,
        group="licences",
        explain=partial(_described, sub, line, timeline) if deferred else None,
    )
