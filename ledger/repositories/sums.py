"""Exact sums of money columns inside the database, so a page over a 300 k-invoice batch never loads its rows.

Why not ``SUM(amount)``: on SQLite an ``ExactDecimal`` is text and ``SUM`` would add it as float (0.1 + 0.2 gives
0.30000000000000004). Every stored amount is rounded to its currency's minor unit, and no ISO 4217 currency has more
than ``PLACES`` decimals, so each amount is turned into an integer count of 10^-``PLACES`` units first and those
integers are summed (SQLite's integer ``SUM`` is exact and raises on overflow rather than falling back to float; on
PostgreSQL the ``NUMERIC`` is scaled and cast to ``BIGINT``). Alongside each sum goes the largest number of decimals
seen, so an amount that is not a rounded money amount is refused loudly instead of being cut.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, case, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.types import canonical

PLACES = 4  # the largest ISO 4217 exponent (CLF, UYW)
UNIT = 10 ** PLACES


class InexactAmount(ValueError):
    """A summed column holds an amount with more decimals than any currency's minor unit."""


def value_units(value: Decimal) -> tuple[int, int]:
    """``value`` as ``units`` and ``decimals`` give it for its stored text: an integer count of 10^-``PLACES`` units
    (meaningless beyond ``PLACES`` decimals) and its number of decimals. For sums a build adds up itself, from the
    lines it has just worked out, before they are stored."""
    exponent = canonical(value).as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return int(value.scaleb(PLACES)), places


def units(session: Session, column: Any) -> ColumnElement[Any]:
    """``column`` (an ``ExactDecimal``) as an integer count of 10^-``PLACES`` units; meaningless for an amount with
    more decimals, so always aggregate ``decimals`` beside it and let ``amount`` refuse those."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column * UNIT, BigInteger)
    padding = func.substr("0" * PLACES, 1, PLACES - decimals(session, column))
    return cast(func.replace(column, ".", "").concat(padding), Integer)


def decimals(session: Session, column: Any) -> ColumnElement[Any]:
    """The number of decimals of ``column``'s value (aggregate it with ``MAX`` beside the sum)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.min_scale(column)
    dot = func.instr(column, ".")
    return case((dot == 0, 0), else_=func.length(column) - dot)


def amount(total: int | None, places: int | None, what: str) -> Decimal | None:
    """The exact ``Decimal`` of a sum of ``units`` (``None`` for a group without rows); ``places`` is the ``MAX`` of
    ``decimals`` over the same rows, ``what`` names them in the error."""
    if places is not None and places > PLACES:
        raise InexactAmount(f"{what}: an amount has {places} decimals, more than any currency's minor unit "
                            f"({PLACES}); it cannot be summed exactly")
    if total is None:
        return None
    return canonical(Decimal(int(total)).scaleb(-PLACES))
