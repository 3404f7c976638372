"""Batched inserts for the nightly bulk paths: one executemany, each column's bind conversion run once per value.

Why: SQLAlchemy converts every parameter of every row (``ExactDecimal``, ``UtcDateTime``); a million snapshots repeat
a few hundred distinct quantities and one instant, so converting each distinct value once (with the column type's own
processor, so the stored text is exactly what the ORM would store) and handing the driver plain values keeps the
bulk path within the sync's throughput goals. JSON columns may be given as ready JSON text (``json_text``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import JSON, Table, bindparam, cast, insert
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType


class _Converted(UserDefinedType):
    """A bind parameter whose value is already in the driver's form: no processor, no cast."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "ANY"


def _memoised(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    if processor is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            converted = seen[value] = processor(value)
            return converted
        except TypeError:  # unhashable (a dict for a JSON column): convert every time
            return processor(value)

    return convert


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]],
                json_text: Collection[str] = ()) -> int:
    """Insert ``rows`` (all with the same keys) into ``table``; keys in ``json_text`` hold JSON text already."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    names = list(rows[0])
    values: dict[str, Any] = {}
    converters: list[tuple[str, str, Callable[[Any], Any] | None]] = []
    for name in names:
        param = bindparam(f"p_{name}", type_=_Converted())
        if name in json_text:
            values[name] = param if dialect.name == "sqlite" else cast(param, JSON)
            converters.append((name, f"p_{name}", None))
            continue
        values[name] = param
        converters.append((name, f"p_{name}", _memoised(table.c[name].type._cached_bind_processor(dialect))))
    compiled = insert(table).values(values).compile(dialect=dialect)
    if compiled.positional:  # SQLite: qmark tuples in the compiled order
        order = {key: index for index, (_, key, _) in enumerate(converters)}
        positions = [converters[order[key]] for key in compiled.positiontup]
        parameters: list[Any] = [
            tuple(value if convert is None or value is None else convert(value)
                  for name, _, convert in positions for value in (row[name],))
            for row in rows
        ]
    else:  # PostgreSQL (psycopg): named parameters
        parameters = [
            {key: (value if convert is None or value is None else convert(value))
             for name, key, convert in converters for value in (row[name],)}
            for row in rows
        ]
    session.connection().exec_driver_sql(compiled.string, parameters)
    return len(rows)
