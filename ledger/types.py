"""Column types that keep money exact on every database.

SQLite has no decimal type: SQLAlchemy's ``Numeric`` there goes through float. ``ExactDecimal`` stores the decimal's
text on SQLite and ``NUMERIC(28, 10)`` on PostgreSQL, and always hands back a ``Decimal`` in canonical form (no
exponent, no trailing zeros beyond the value), so the same ledger reads the same on both databases.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def canonical(value: Decimal) -> Decimal:
    """``Decimal('12.5000000000')`` -> ``Decimal('12.5')``, ``Decimal('1E+2')`` -> ``Decimal('100')``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` column that is never a float on the way in or out."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(28, 10, asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and quantities must be Decimal, not float")
        decimal = canonical(Decimal(value))
        return decimal if dialect.name == "postgresql" else format(decimal, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return canonical(Decimal(value))


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC instant on every database (SQLite would otherwise hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: instants must be timezone-aware (UTC)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
