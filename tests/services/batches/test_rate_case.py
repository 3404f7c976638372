"""``services.batches.rate_case``: the case format's validation (one line naming the field) and the file entry point."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from services.batches import rate_case, rate_case_file
from services.errors import NotFound, ValidationFailed

CASE = {
    "name": "validation base",
    "currency": "EUR",
    "convention": "microsoft",
    "rounding": "truncate",
    "subscription": {"id": "sub-1", "start": "2026-04-10", "term": "P1M", "billing": "P1M", "timing": "advance",
                     "quantity": 4, "unit_price": "12.00"},
    "changes": [{"date": "2026-04-15", "quantity": 6}, {"date": "2026-04-20", "cancel": True}],
    "window": {"from": "2026-04-10", "to": "2026-05-09"},
}


def edited(path: str, value: object) -> dict:
    data = copy.deepcopy(CASE)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    target = data
    for part in parents:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("convention", "banker", "convention: Input should be 'microsoft', 'actual' or 'thirty'"),
        ("rounding", "up", "rounding: Input should be 'truncate', 'half_up' or 'half_even'"),
        ("currency", "XXX", "currency: unknown currency 'XXX'"),
        ("changes.1.date", "2026-04-01", "changes[1].date: before subscription.start"),
        ("changes.0.date", "2026-04-25", "changes[1].date: before changes[0].date"),
        ("changes.0.quantity", -1, "changes[0].quantity: Input should be greater than or equal to 0"),
        ("subscription.quantity", -3, "subscription.quantity: Input should be greater than or equal to 0"),
        ("subscription.start", "2026-02-30", "subscription.start: not a date (YYYY-MM-DD): '2026-02-30'"),
        ("subscription.start", "10.04.2026", "subscription.start: not a date (YYYY-MM-DD)"),
        ("subscription.unit_price", "12,00", "subscription.unit_price: not a non-negative decimal amount"),
        ("subscription.unit_price", 12.0, "subscription.unit_price: not a decimal amount"),
        ("subscription.unit_price", "-1.00", "subscription.unit_price: not a non-negative decimal amount"),
        ("subscription.term", "P1W", "subscription.term: 'P1W' is not a duration like P1M, P1Y or P3Y"),
        ("subscription.billing", "P1Y", "subscription.billing: P1Y does not divide the P1M term"),
        ("subscription.timing", "later", "subscription.timing: Input should be 'advance' or 'arrears'"),
        ("subscription.colour", "red", "subscription.colour: Extra inputs are not permitted"),
        ("window.to", "2026-04-01", "window.to: before window.from"),
        ("changes.1.quantity", 3, "changes[1].cancel: a cancel carries no quantity"),
        ("changes.1.cancel", False, "changes[1].cancel: must be true when present"),
        ("changes.0", {"date": "2026-04-15"}, "changes[0]: changes nothing"),
    ],
)
def test_invalid_case_names_the_field(path: str, value: object, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        rate_case(edited(path, value))
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_change_after_cancel_is_refused() -> None:
    data = edited("changes", [*CASE["changes"], {"date": "2026-04-21", "quantity": 2}])
    with pytest.raises(ValidationFailed, match=r"^changes\[2\]\.date: after the cancel in changes\[1\]$"):
        rate_case(data)


def test_missing_field_is_named() -> None:
    data = copy.deepcopy(CASE)
    del data["window"]
    with pytest.raises(ValidationFailed, match=r"^window: Field required$"):
        rate_case(data)


def test_file_keeps_json_numbers_exact(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE).replace('"12.00"', "12.10"), encoding="utf-8")
    result = rate_case_file(path)
    assert result["lines"][0]["unit_price"] == "12.10"
    assert result["lines"][0]["amount"] == "48.40"


def test_file_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"currency": ', encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        rate_case_file(broken)
    with pytest.raises(NotFound, match="no such case file"):
        rate_case_file(tmp_path / "missing.json")
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"^\(case\): must be a JSON object$"):
        rate_case_file(listed)


def test_cancelled_case_total() -> None:
    result = rate_case(CASE)
    assert [line["kind"] for line in result["lines"]] == ["charge", "credit", "charge", "credit"]
    assert result["total"] == "20.00"
