"""The JSON text a licence snapshot stores: ``{"payload": <vendor payload>, "record": <normalised record>}``.

Why written field by field: the nightly sync serialises every new or changed licence (a million on a first night);
building a dict per record and handing it to ``json.dumps`` was the largest cost of the ingest. The text here is
byte-identical to ``payload_text({"record": ..., "payload": ...})`` of the same values (sorted keys, compact
separators, ASCII escapes, fields the source left empty omitted), so ``raw_hash`` stays what it always was; the
property test in ``tests/services/sync/test_licence_text.py`` holds the two together.
"""

from __future__ import annotations

import datetime as dt
import functools
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from connectors.records import LicenceRecord
from ledger.repositories.snapshots import payload_text
from ledger.types import canonical


@functools.lru_cache(maxsize=65536)
def number(value: Any) -> str:
    """Canonical text of a quantity or price (equal decimals, equal text); cached: nights repeat few values."""
    return "" if value is None else format(canonical(value), "f")


def iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601 text of a day or instant. Cached per value and UTC offset: two instants in different offsets are
    equal (and hash alike) but are written each with its own offset, as the vendor sent it."""
    if value is None:
        return None
    return _iso(value, value.utcoffset() if isinstance(value, dt.datetime) else None)


@functools.lru_cache(maxsize=65536)
def _iso(value: dt.date, _offset: dt.timedelta | None) -> str:
    return value.isoformat()


@functools.lru_cache(maxsize=65536)
def _text(value: str | None) -> str | None:
    """A JSON string (``None`` stays ``None``: the field is left out); cached for the values nights repeat."""
    return None if value is None else _quote(value)


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _batches(record: LicenceRecord) -> str | None:
    batches = record.refundable_batches
    if not batches:
        return None
    return "[" + ",".join(f"[{_quote(number(seats))},{_text(iso(until)) or 'null'}]" for seats, until in batches) + "]"


def record_text(record: LicenceRecord) -> str:
    """The normalised record as compact JSON with sorted keys; fields the source left empty are omitted."""
    r = record
    fields = (  # in key order
        ("as_of", _text(iso(r.as_of))),
        ("assigned_quantity", _text(number(r.assigned_quantity) or None)),
        ("auto_renew", _bool(r.auto_renew)),
        ("billing_frequency", _text(r.billing_frequency)),
        ("billing_type", _text(r.billing_type)),
        ("cancellation_allowed_until", _text(iso(r.cancellation_allowed_until))),
        ("commitment_term", _text(r.commitment_term)),
        ("currency", _text(r.currency)),
        ("customer_external_id", _quote(r.customer_external_id)),
        ("customer_reference", None if r.customer_reference is None else _quote(r.customer_reference)),
        ("customer_tenant_id", _text(r.customer_tenant_id)),
        ("line_external_id", _quote(r.line_external_id)),
        ("parent_subscription_id", _text(r.parent_subscription_id)),
        ("product_id", _text(r.product_id)),
        ("quantity", _quote(number(r.quantity))),
        ("refundable_batches", _batches(r)),
        ("renewal_date", _text(iso(r.renewal_date))),
        ("sku", _text(r.sku)),
        ("source_account_id", _text(r.source_account_id)),
        ("source_updated_at", _text(iso(r.source_updated_at))),
        ("status", _text(r.status)),
        ("status_raw", _text(r.status_raw)),
        ("subscription_external_id", _quote(r.subscription_external_id)),
        ("term_end", _text(iso(r.term_end))),
        ("term_start", _text(iso(r.term_start))),
        ("unit_cost", _text(number(r.unit_cost) or None)),
        ("unit_cost_field", _text(r.unit_cost_field)),
        ("unit_price", _text(number(r.unit_price) or None)),
        ("vendor_sku", _text(r.vendor_sku)),
        ("vendor_subscription_id", _text(r.vendor_subscription_id)),
    )
    return "{" + ",".join([f'"{key}":{value}' for key, value in fields if value is not None]) + "}"


def snapshot_text(record: LicenceRecord) -> str:
    """What ``snapshots.raw`` holds for this record: its untouched vendor payload next to the normalised record."""
    return f'{{"payload":{payload_text(record.raw)},"record":{record_text(record)}}}'
