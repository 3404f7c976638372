"""The ledger's JSON text is what ``json.dumps`` writes, whatever encoder writes it: a payload's text (what
``raw_hash`` hashes) with sorted keys, compact separators, ASCII escapes and anything else as ``str``; a JSON column's
(a line's lineage) with ``json.dumps``'s defaults, so texts stored before and after compare equal."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.db import make_engine
from ledger.json_text import json_text, payload_text

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(),
                    st.decimals(allow_nan=False), st.dates(), st.datetimes(timezones=st.just(dt.UTC)))
payloads = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(), inner, max_size=4)), max_leaves=20)


@given(st.dictionaries(st.text(), payloads, max_size=6))
def test_payload_text_is_the_canonical_json_of_the_payload(raw: dict) -> None:
    assert payload_text(raw) == json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)


def test_payload_text_of_a_vendor_answer() -> None:
    raw = {"quantity": Decimal("12.50"), "name": "Büro 365", "tags": [None, True, 1.5], "id": "s-1",
           "since": dt.date(2026, 5, 1)}
    assert payload_text(raw) == ('{"id":"s-1","name":"B\\u00fcro 365","quantity":"12.50","since":"2026-05-01",'
                                 '"tags":[null,true,1.5]}')
    assert payload_text(raw) == payload_text(dict(reversed(raw.items())))


plain = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text()),
                     lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                             st.dictionaries(st.one_of(st.text(), st.integers(), st.booleans()), inner,
                                                             max_size=4)), max_leaves=20)


@given(plain)
def test_json_text_is_what_json_dumps_writes(value: object) -> None:
    assert json_text(value) == json.dumps(value)


@pytest.mark.parametrize("value", [{"amount": Decimal("1.10")}, [dt.date(2026, 5, 1)], {"ids": {1, 2}}])
def test_json_text_refuses_what_json_dumps_refuses(value: object) -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        json.dumps(value)
    with pytest.raises(TypeError, match="is not JSON serializable"):
        json_text(value)


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://ledger@127.0.0.1/ledger"])
def test_the_ledger_writes_json_columns_with_it(url: str) -> None:
    assert make_engine(url).dialect._json_serializer is json_text
