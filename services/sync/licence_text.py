"""The JSON text a licence snapshot stores: ``{"payload": <vendor payload>, "record": <normalised record>}``.

Why written column by column: the nightly sync serialises every new or changed licence (a million on a first night);
building a dict per record and handing it to ``json.dumps`` was the largest cost of the ingest, and so was writing
the fields record by record. Here each field of a whole chunk of records becomes its ``,"key":value`` fragments at
once, every distinct value written once per chunk (a night repeats products, terms, dates and states; the ids are
quoted straight), and a record's text is the join of its fragments. The text is byte-identical to
``payload_text({"record": ..., "payload": ...})`` of the same values (sorted keys, compact separators, ASCII escapes,
fields the source left empty omitted), so ``raw_hash`` stays what it always was; the property test in
``tests/services/sync/test_licence_text.py`` holds the two together.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable, Sequence
from json.encoder import encode_basestring_ascii as _quote
from operator import attrgetter
from typing import Any

from connectors.records import LicenceRecord
from ledger.json_text import payload_text
from ledger.types import canonical


@functools.lru_cache(maxsize=65536)
def number(value: Any) -> str:
    """Canonical text of a quantity or price (equal decimals, equal text); cached: nights repeat few values."""
    return "" if value is None else format(canonical(value), "f")


def iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601 text of a day or instant."""
    return None if value is None else value.isoformat()


def _text(value: str | None) -> str | None:
    """A JSON string (``None`` stays ``None``: the field is left out)."""
    return None if value is None else _quote(value)


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _amount(value: Any) -> str | None:
    """An optional amount: left out when absent."""
    return _text(number(value) or None)


def _quantity(value: Any) -> str:
    return _quote(number(value))


def _when(value: dt.date | dt.datetime | None) -> str | None:
    return _text(iso(value))


def _batches(batches: tuple[tuple[Any, dt.datetime | None], ...]) -> str | None:
    if not batches:
        return None
    return "[" + ",".join(f"[{_quote(number(seats))},{_when(until) or 'null'}]" for seats, until in batches) + "]"


# How a field's values repeat over a night, which decides how its fragments are made.
VALUES, IDS, MOMENTS, BATCHES = "values", "ids", "moments", "batches"
FIELDS: tuple[tuple[str, str, Callable[[Any], str | None]], ...] = (  # in key order: (field, kind, JSON writer)
    ("as_of", MOMENTS, _when),
    ("assigned_quantity", VALUES, _amount),
    ("auto_renew", VALUES, _bool),
    ("billing_frequency", VALUES, _text),
    ("billing_type", VALUES, _text),
    ("cancellation_allowed_until", MOMENTS, _when),
    ("commitment_term", VALUES, _text),
    ("currency", VALUES, _text),
    ("customer_external_id", VALUES, _quote),
    ("customer_reference", VALUES, _text),
    ("customer_tenant_id", VALUES, _text),
    ("line_external_id", IDS, _quote),
    ("parent_subscription_id", VALUES, _text),
    ("product_id", VALUES, _text),
    ("quantity", VALUES, _quantity),
    ("refundable_batches", BATCHES, _batches),
    ("renewal_date", MOMENTS, _when),
    ("sku", VALUES, _text),
    ("source_account_id", VALUES, _text),
    ("source_updated_at", MOMENTS, _when),
    ("status", VALUES, _text),
    ("status_raw", VALUES, _text),
    ("subscription_external_id", IDS, _quote),
    ("term_end", MOMENTS, _when),
    ("term_start", MOMENTS, _when),
    ("unit_cost", VALUES, _amount),
    ("unit_cost_field", VALUES, _text),
    ("unit_price", VALUES, _amount),
    ("vendor_sku", VALUES, _text),
    ("vendor_subscription_id", IDS, _text),
)


class _Fragments(dict):
    """``,"key":value`` (or ``""`` for a value left out) by value, each distinct value written once.

    A key is the value itself, or for instants ``(instant, tzinfo, fold)``: two equal instants in other offsets (or
    on either side of a clock change) are equal and hash alike, but each is written with its own offset.
    """

    def __init__(self, prefix: str, write: Callable[[Any], str | None], moments: bool = False) -> None:
        super().__init__()
        self.prefix, self.write, self.moments = prefix, write, moments

    def __missing__(self, key: Hashable) -> str:
        text = self.write(key[0] if self.moments else key)
        fragment = self[key] = "" if text is None else self.prefix + text
        return fragment


_ZONED = attrgetter("tzinfo", "fold")


def _fragments(name: str, kind: str, write: Callable[[Any], str | None],
               records: Sequence[LicenceRecord]) -> list[str]:
    """One field's fragments for every record, without a Python step per record where the values allow it."""
    values = list(map(attrgetter(name), records))
    prefix = f',"{name}":'
    if kind == IDS and None not in values:
        return list(map(prefix.__add__, map(write, values)))
    if kind == BATCHES and not any(values):
        return [""] * len(values)
    if kind in (IDS, BATCHES):
        return ["" if (text := write(value)) is None else prefix + text for value in values]
    types = set(map(type, values)) if kind == MOMENTS else set()
    if types == {dt.datetime}:
        keys: Any = zip(values, map(_ZONED, values), strict=True)
    elif any(issubclass(kind_, dt.datetime) for kind_ in types):  # with days, gaps or datetime subclasses
        keys = [(value, _ZONED(value) if isinstance(value, dt.datetime) else None) for value in values]
    else:  # plain values, or days only
        return list(map(_Fragments(prefix, write).__getitem__, values))
    return list(map(_Fragments(prefix, write, moments=True).__getitem__, keys))


def record_texts(records: Sequence[LicenceRecord]) -> list[str]:
    """Each normalised record as compact JSON with sorted keys; fields the source left empty are omitted."""
    columns = [_fragments(name, kind, write, records) for name, kind, write in FIELDS]
    return ["{" + body[1:] + "}" for body in map("".join, zip(*columns, strict=True))]


def snapshot_texts(records: Sequence[LicenceRecord]) -> list[str]:
    """What ``snapshots.raw`` holds for each record: its untouched vendor payload next to the normalised record."""
    payloads = map(payload_text, map(attrgetter("raw"), records))
    return [f'{{"payload":{payload},"record":{record}}}'
            for payload, record in zip(payloads, record_texts(records), strict=True)]
