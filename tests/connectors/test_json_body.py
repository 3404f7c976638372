"""Vendor JSON bodies: numbers as Decimal, and each object holding an unpaired surrogate marked with its path."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from connectors.errors import MalformedRecord
from connectors.json_body import Unpaired, load_json
from connectors.records import FieldReader

LONE = "\\ud800"  # as a vendor's JSON text carries it: six characters


@pytest.mark.parametrize(("body", "path"), [
    ('{"id": "a", "name": "x' + LONE + '"}', "name"),
    ('{"id": "a", "products": [{"id": "p"}, {"name": "' + LONE + '"}]}', "products[1].name"),
    ('{"id": "a", "tags": ["ok", "' + LONE + '"]}', "tags[1]"),
    ('{"id": "a", "unitCost": {"amount": 1.5, "note": "\\udc00"}}', "unitCost.note"),
    ('{"id": "a", "' + LONE + '": 1}', "\\ud800"),  # a key: shown as its escape
    ('{"id": "a", "Zo\\u00eb' + LONE + '": 1}', "Zoë\\ud800"),  # the rest of the key stays as it is
    ('{"id": "a", "note": "\\ude00\\ud83d"}', "note"),  # a pair in the wrong order is two lone halves
])
def test_the_object_holding_a_lone_surrogate_names_its_path(body: str, path: str) -> None:
    record = load_json(body.encode())
    assert isinstance(record, Unpaired) and record.path == path
    with pytest.raises(MalformedRecord) as caught:
        FieldReader("pax8", "a", record)
    assert caught.value.field == path and "unpaired UTF-16 surrogate" in caught.value.problem
    str(caught.value).encode("utf-8")  # the report itself is storable text


@pytest.mark.parametrize("body", [
    '{"id": "a", "name": "\\ud83d\\ude00", "price": 12.10}',  # an escaped pair: an emoji
    '{"id": "a", "name": "\\\\ud800"}',  # an escaped backslash, then text
    '{"id": "a", "name": "Zoë", "price": 12.10}',
])
def test_text_is_decoded_as_it_is(body: str) -> None:
    record: Any = load_json(body)
    assert type(record) is dict and record == json.loads(body, parse_float=Decimal)
    assert FieldReader("pax8", "a", record).text("name") == record["name"]


def test_a_page_marks_only_the_records_that_hold_one() -> None:
    page = load_json(b'{"content": [{"id": "a"}, {"id": "b", "name": "' + LONE.encode() + b'"}], "page": {"n": 1}}')
    assert isinstance(page, Unpaired) and page.path == "content[1].name"
    assert type(page["content"][0]) is dict and isinstance(page["content"][1], Unpaired)
    assert page["page"] == {"n": 1}
