"""The snapshot text written field by field is exactly ``payload_text`` of the record dict (so the same raw_hash)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from connectors.records import LicenceRecord
from ledger.json_text import payload_text
from services.sync.licence_text import iso, number, snapshot_texts
from tests.services.sync.test_sync_support import licence

TEXT = st.text(max_size=12)  # quotes, backslashes, control and non-ASCII characters included
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**6, max_value=10**6)
DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))
INSTANTS = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))


def record_dict(record: LicenceRecord) -> dict[str, Any]:
    """The normalised record as the snapshot stores it, spelled as a dict (the shape ``record_text`` writes)."""
    values = {
        "source_account_id": record.source_account_id,
        "customer_external_id": record.customer_external_id,
        "customer_reference": record.customer_reference,
        "customer_tenant_id": record.customer_tenant_id,
        "subscription_external_id": record.subscription_external_id,
        "line_external_id": record.line_external_id,
        "vendor_subscription_id": record.vendor_subscription_id,
        "parent_subscription_id": record.parent_subscription_id,
        "product_id": record.product_id,
        "sku": record.sku,
        "vendor_sku": record.vendor_sku,
        "quantity": number(record.quantity),
        "assigned_quantity": number(record.assigned_quantity) or None,
        "unit_cost": number(record.unit_cost) or None,
        "unit_cost_field": record.unit_cost_field,
        "unit_price": number(record.unit_price) or None,
        "currency": record.currency,
        "commitment_term": record.commitment_term,
        "billing_frequency": record.billing_frequency,
        "billing_type": record.billing_type,
        "status": record.status,
        "status_raw": record.status_raw,
        "term_start": iso(record.term_start),
        "term_end": iso(record.term_end),
        "renewal_date": iso(record.renewal_date),
        "auto_renew": record.auto_renew,
        "cancellation_allowed_until": iso(record.cancellation_allowed_until),
        "refundable_batches": [[number(q), iso(until)] for q, until in record.refundable_batches],
        "source_updated_at": iso(record.source_updated_at),
        "as_of": iso(record.as_of),
    }
    return {key: value for key, value in values.items() if value is not None and value != []}


records = st.builds(
    lambda base, fields: replace(base, **fields),
    st.builds(licence, sub=TEXT.filter(bool), quantity=st.integers(0, 500), customer=TEXT),
    st.fixed_dictionaries({}, optional={
        "customer_reference": st.none() | TEXT,
        "customer_tenant_id": st.none() | TEXT,
        "vendor_subscription_id": st.none() | TEXT,
        "parent_subscription_id": st.none() | TEXT,
        "sku": st.none() | TEXT,
        "vendor_sku": st.none() | TEXT,
        "status_raw": TEXT,
        "unit_cost_field": st.none() | TEXT,
        "quantity": DECIMALS,
        "assigned_quantity": st.none() | DECIMALS,
        "unit_cost": st.none() | DECIMALS,
        "unit_price": st.none() | DECIMALS,
        "commitment_term": st.none() | st.sampled_from(["P1M", "P1Y", "P3Y"]),
        "term_start": st.none() | DAYS,
        "term_end": st.none() | DAYS,
        "renewal_date": st.none() | DAYS,
        "auto_renew": st.none() | st.booleans(),
        "cancellation_allowed_until": st.none() | INSTANTS,
        "refundable_batches": st.lists(st.tuples(DECIMALS, st.none() | INSTANTS), max_size=3).map(tuple),
        "source_updated_at": st.none() | DAYS | INSTANTS,
        "as_of": INSTANTS,
        "raw": st.dictionaries(TEXT, st.none() | TEXT | st.integers() | DECIMALS | st.booleans(), max_size=4),
    }),
)


@given(st.lists(records, max_size=6))
def test_each_snapshot_text_is_the_canonical_json_of_record_and_payload(chunk: list[LicenceRecord]) -> None:
    """Written together, as the sync writes a chunk (each distinct value written once for all of them)."""
    expected = [payload_text({"record": record_dict(record), "payload": record.raw}) for record in chunk]
    assert snapshot_texts(chunk) == expected


def test_an_example_reads_as_expected() -> None:
    record = licence("s-ü\"1", 5, refundable_batches=((Decimal("2.50"), None),), raw={"b": 1, "a": Decimal("1.0")})
    (text,) = snapshot_texts([record])
    assert text.startswith('{"payload":{"a":"1.0","b":1},"record":{"as_of":"2026-05-01T00:30:00+00:00"')
    assert '"refundable_batches":[["2.5",null]]' in text
    assert '"subscription_external_id":"s-\\u00fc\\"1"' in text


def test_equal_instants_in_other_offsets_keep_their_own_offset() -> None:
    """One instant's text must not be handed to an equal instant written in another offset, nor, in one zone, to
    the same wall time on the other side of a clock change (fold)."""
    utc = dt.datetime(2026, 5, 1, 0, 30, tzinfo=dt.UTC)
    berlin = dt.datetime(2026, 5, 1, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    summer = dt.datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    winter = summer.replace(fold=1)
    assert utc == berlin and summer == winter
    chunk = [replace(licence("s1", 3), source_updated_at=instant) for instant in (utc, berlin, summer, winter)]
    texts = snapshot_texts(chunk)
    for text, spelled in zip(texts, ("2026-05-01T00:30:00+00:00", "2026-05-01T02:30:00+02:00",
                                     "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"), strict=True):
        assert f'"source_updated_at":"{spelled}"' in text
    assert texts == [payload_text({"payload": r.raw, "record": record_dict(r)}) for r in chunk]


class Stamp(dt.datetime):
    """An instant of a datetime subclass, as a parser may hand one over (pandas' ``Timestamp`` is one)."""


def test_days_and_instants_in_one_field_are_each_written_as_they_are() -> None:
    """``source_updated_at`` holds a plain date where the source sends only dates, an instant elsewhere; an instant
    of a datetime subclass keeps its own offset too."""
    utc = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    stamp = Stamp(2026, 5, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert stamp == utc
    chunk = [replace(licence("s1", 3), source_updated_at=value) for value in (dt.date(2026, 5, 1), utc, None, stamp)]
    texts = snapshot_texts(chunk)
    assert texts == [payload_text({"payload": r.raw, "record": record_dict(r)}) for r in chunk]
    assert '"source_updated_at":"2026-05-01T02:00:00+02:00"' in texts[3]
    stamps = [replace(licence("s1", 3), source_updated_at=value) for value in (Stamp(2026, 5, 1, tzinfo=dt.UTC), stamp)]
    assert snapshot_texts(stamps) == [payload_text({"payload": r.raw, "record": record_dict(r)}) for r in stamps]
