"""A payload's text (what ``raw_hash`` hashes) is the canonical JSON it has always been: ``json.dumps`` with sorted
keys, compact separators, ASCII escapes and anything else as ``str``, whatever encoder writes it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.repositories.snapshots import payload_text

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
