"""Rate one case file (``reference/rating-cases.md`` format): parse and validate it, run the pure rating engine,
and serialise the result exactly as that document specifies.

The case file is self-contained (no database, no config, no network) so support can re-compute any published or
disputed proration example. Invalid input raises :class:`ValidationFailed` with one line naming the field
(``changes[1].date: before subscription.start``) before anything is rated, so nothing partial is ever printed.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from rating.lineage import format_unrounded
from rating.money import minor_units, total
from rating.periods import Convention, parse_duration, period_at, period_containing
from rating.proration import Change, RatedLine, SubscriptionTerms, Timing, Window, rate_subscription
from rating.rounding import RoundingPolicy
from services.errors import NotFound, ValidationFailed

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
# Bounds that keep every line and the total of any window within the 28 significant digits a Decimal amount holds.
_AMOUNT_DIGITS = 9
_MAX_QUANTITY = 10**9


def _date(value: object) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")


def _amount(value: object) -> Decimal:
    """Amounts are JSON strings: a JSON number may already have lost digits in whatever wrote the file."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise ValueError(f"give the amount as a string like \"12.50\", not the JSON number {value}")
    if not isinstance(value, str):
        raise ValueError(f"not a decimal amount like \"12.00\": {value!r}")
    if not _AMOUNT.fullmatch(value):
        raise ValueError(f"not a non-negative decimal amount like \"12.00\": {value!r}")
    if len(value.partition(".")[0].lstrip("0")) > _AMOUNT_DIGITS:
        raise ValueError(f"more than {_AMOUNT_DIGITS} digits before the point: {value!r}")
    return Decimal(value)


def _duration(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a duration like P1M, P1Y or P3Y: {value!r}")
    parse_duration(value)
    return value


IsoDate = Annotated[date, BeforeValidator(_date)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Quantity = Annotated[int, Field(strict=True, ge=0, le=_MAX_QUANTITY)]
Duration = Annotated[str, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Subscription(_Model):
    id: Annotated[str, Field(strict=True, min_length=1)]
    start: IsoDate
    anchor: IsoDate | None = None
    term: Duration
    billing: Duration
    timing: Timing = Timing.ADVANCE
    quantity: Quantity
    unit_price: Amount


class _Change(_Model):
    date: IsoDate
    quantity: Quantity | None = None
    unit_price: Amount | None = None
    product: Annotated[str, Field(strict=True, min_length=1)] | None = None
    cancel: Annotated[bool, Field(strict=True)] | None = None


class _Window(_Model):
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")


class _Case(_Model):
    name: str = ""
    currency: str
    convention: Convention
    rounding: RoundingPolicy
    subscription: _Subscription
    changes: list[_Change] = []
    window: _Window

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        minor_units(value)
        return value


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(case)"


def _parse(data: object) -> _Case:
    if not isinstance(data, dict):
        raise ValidationFailed("(case): must be a JSON object")
    try:
        case = _Case.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        raise ValidationFailed(f"{_where(error['loc'])}: {message}") from None
    _check_rules(case)
    _check_calendar(case)
    return case


def _check_rules(case: _Case) -> None:
    """The rules between fields that a field alone cannot check."""
    sub = case.subscription
    if parse_duration(sub.term) % parse_duration(sub.billing):
        raise ValidationFailed(f"subscription.billing: {sub.billing} does not divide the {sub.term} term")
    if case.window.end < case.window.start:
        raise ValidationFailed("window.to: before window.from")
    cancelled_at: int | None = None
    for position, change in enumerate(case.changes):
        field = f"changes[{position}]"
        if cancelled_at is not None:
            raise ValidationFailed(f"{field}.date: after the cancel in changes[{cancelled_at}]")
        if change.date < sub.start:
            raise ValidationFailed(f"{field}.date: before subscription.start")
        if position and change.date < case.changes[position - 1].date:
            raise ValidationFailed(f"{field}.date: before changes[{position - 1}].date (changes must be in date order)")
        others = (change.quantity, change.unit_price, change.product)
        if change.cancel is not None:
            if not change.cancel:
                raise ValidationFailed(f"{field}.cancel: must be true when present")
            if others != (None, None, None):
                raise ValidationFailed(f"{field}.cancel: a cancel carries no quantity, unit_price or product")
            cancelled_at = position
        elif others == (None, None, None):
            raise ValidationFailed(f"{field}: changes nothing (give quantity, unit_price, product or cancel)")


def _check_calendar(case: _Case) -> None:
    """Rating a date needs its billing period, the next one and its term; all must fit in years 1 to 9999.

    ``window.from`` is only compared with dates, so it may be any date (``0001-01-01`` for "from the start").
    """
    sub = case.subscription
    anchor = sub.anchor or sub.start
    billing, term = parse_duration(sub.billing), parse_duration(sub.term)
    dated = [("subscription.start", sub.start), ("subscription.anchor", sub.anchor),
             *((f"changes[{position}].date", change.date) for position, change in enumerate(case.changes)),
             ("window.to", case.window.end)]
    for field, day in dated:
        if day is None:
            continue
        try:
            period_at(anchor, billing, period_containing(anchor, billing, day).index + 1)
            period_containing(anchor, term, day)
        except (ValueError, OverflowError):
            raise ValidationFailed(f"{field}: {day} cannot be rated: its billing period, the next one or its term "
                                   "would reach past 9999-12-31 (or before 0001-01-01)") from None


def _line(line: RatedLine) -> dict[str, object]:
    return {
        "subscription": line.key.subscription,
        "kind": line.key.kind.value,
        "from": line.key.stretch_start.isoformat(),
        "to": line.stretch_end.isoformat(),
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "days": line.days,
        "period_days": line.period_days,
        "amount": str(line.amount.amount),
        "unrounded": format_unrounded(line.unrounded),
        "formula": line.formula,
    }


def rate_case(data: dict) -> dict[str, object]:
    """Rate a case given as parsed JSON; returns the output document (``currency``, ``lines``, ``total``)."""
    case = _parse(data)
    sub = case.subscription
    terms = SubscriptionTerms(
        subscription_id=sub.id,
        currency=case.currency,
        start=sub.start,
        quantity=sub.quantity,
        unit_price=sub.unit_price,
        term_months=parse_duration(sub.term),
        billing_months=parse_duration(sub.billing),
        anchor=sub.anchor,
        timing=sub.timing,
    )
    changes = [
        Change(
            effective=change.date,
            quantity=change.quantity,
            unit_price=change.unit_price,
            product=change.product,
            cancel=bool(change.cancel),
            input_ids=(f"changes[{position}]",),
        )
        for position, change in enumerate(case.changes)
    ]
    window = Window(case.window.start, case.window.end)
    lines = rate_subscription(terms, changes, window, case.convention, case.rounding)
    return {
        "currency": case.currency,
        "lines": [_line(line) for line in lines],
        "total": str(total((line.amount for line in lines), case.currency).amount),
    }


def rate_case_file(path: str | Path) -> dict[str, object]:
    """Read a case file and rate it. JSON numbers are read as exact decimals, so an amount given as a number is
    quoted back as written when it is refused."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such case file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{path}: cannot read the case file ({exc})") from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ValidationFailed(f"{path}: not a case file (JSON nested too deeply)") from None
    return rate_case(data)
