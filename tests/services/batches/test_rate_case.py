"""``services.batches.rate_case``: the case format's validation (one line naming the field) and the file entry point."""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.batches import rate_case, rate_case_file
from services.errors import NotFound, UserFacingError, ValidationFailed

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
AS_STRING = 'give the amount as a string like "12.50", not the JSON number'


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
        ("subscription.unit_price", 12.0, f"subscription.unit_price: {AS_STRING} 12.0"),
        ("subscription.unit_price", 12, f"subscription.unit_price: {AS_STRING} 12"),
        ("changes.0.unit_price", 13.5, f"changes[0].unit_price: {AS_STRING} 13.5"),
        ("subscription.unit_price", [], "subscription.unit_price: not a decimal amount"),
        ("subscription.unit_price", "1000000000.00", "subscription.unit_price: more than 9 digits before the point"),
        ("subscription.quantity", 10**9 + 1, "subscription.quantity: Input should be less than or equal to 1000000000"),
        ("subscription.anchor", "9999-12-20", "subscription.anchor: 9999-12-20 cannot be rated"),
        ("window.to", "9999-12-31", "window.to: 9999-12-31 cannot be rated"),
        ("changes.1.date", "9999-11-20", "changes[1].date: 9999-11-20 cannot be rated"),
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


def test_file_refuses_an_amount_given_as_a_json_number(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE).replace('"12.00"', "12.10"), encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r'^subscription\.unit_price: give the amount as a string like "12\.50", '
                                               r"not the JSON number 12\.10$"):
        rate_case_file(path)


def test_the_calendar_limit_is_the_next_period_not_the_date_itself() -> None:
    """A window may end in the last whole period that has a next one inside the calendar."""
    data = edited("window", {"from": "9999-10-10", "to": "9999-10-10"})
    data["subscription"]["start"] = data["subscription"]["anchor"] = "9999-10-10"
    data["changes"] = []
    assert rate_case(data)["total"] == "48.00"
    data["window"]["to"] = "9999-11-10"
    with pytest.raises(ValidationFailed, match=r"^window\.to: 9999-11-10 cannot be rated"):
        rate_case(data)
    data["subscription"]["start"] = data["subscription"]["anchor"] = "9999-12-15"
    data["window"] = {"from": "9999-12-01", "to": "9999-12-31"}
    with pytest.raises(ValidationFailed, match=r"^subscription\.start: 9999-12-15 cannot be rated: its billing period, "
                                               r"the next one or its term would reach past 9999-12-31"):
        rate_case(data)
    data = edited("window.from", "0001-01-01")
    assert rate_case(data)["total"] == rate_case(CASE)["total"]


def test_file_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"currency": ', encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not valid JSON"):
        rate_case_file(broken)
    with pytest.raises(NotFound, match="no such case file"):
        rate_case_file(tmp_path / "missing.json")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(ValidationFailed, match="nested too deeply"):
        rate_case_file(deep)
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"^\(case\): must be a JSON object$"):
        rate_case_file(listed)


def test_cancelled_case_total() -> None:
    result = rate_case(CASE)
    assert [line["kind"] for line in result["lines"]] == ["charge", "credit", "charge", "credit"]
    assert result["total"] == "20.00"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["2026-02-28", "9999-12-31", "0001-01-01", "2024-02-29", "P1M", "P3Y", "P9999Y", "12.50",
                       "999999999.999", "1e3", "thirty", "half_even", "JPY", "arrears"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
case_days = (st.dates(date(2020, 1, 1), date(2030, 12, 31)) | st.dates(date(9996, 1, 1), date(9999, 12, 31))
             | st.dates(date(1, 1, 1), date(3, 12, 31)))
FIELDS = [("currency",), ("convention",), ("rounding",), ("subscription",), ("changes",), ("window",),
          *(("subscription", key) for key in ("id", "start", "anchor", "term", "billing", "timing", "quantity",
                                              "unit_price", "colour")),
          ("changes", 0, "date"), ("changes", 0, "quantity"), ("changes", 0, "unit_price"), ("changes", 0, "cancel"),
          ("window", "from"), ("window", "to")]


def later(day: date, days: int) -> str:
    return date.fromordinal(min(max(day.toordinal() + days, 1), date.max.toordinal())).isoformat()


@st.composite
def case_files(draw) -> bytes:
    """A case anywhere in the calendar with a few fields replaced or removed, or something that is not a case."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60) | st.text(max_size=60).map(lambda text: text.encode("utf-8")))
    start = draw(case_days)
    term, billing = draw(st.sampled_from([("P1M", "P1M"), ("P1Y", "P1M"), ("P1Y", "P1Y"), ("P3Y", "P1Y")]))
    data = copy.deepcopy(CASE) | {"convention": draw(st.sampled_from(["microsoft", "actual", "thirty"]))}
    data["subscription"] |= {"start": start.isoformat(), "anchor": later(start, -draw(st.integers(0, 40))),
                             "term": term, "billing": billing,
                             "unit_price": draw(st.sampled_from(["0", "12.50", "999999999.9999999", "0.001"]))}
    data["changes"] = [{"date": later(start, draw(st.integers(0, 90))), "quantity": draw(st.integers(0, 10**9))}]
    data["window"] = {"from": later(start, -draw(st.integers(0, 40))), "to": later(start, draw(st.integers(0, 120)))}
    for _ in range(draw(st.integers(0, 3))):
        *parents, last = draw(st.sampled_from(FIELDS))
        target = data
        for part in parents:
            target = target[part] if isinstance(target, dict) and isinstance(target.get(part), dict | list) else (
                target[part] if isinstance(target, list) and part < len(target) else None)
        if isinstance(target, dict) and draw(st.booleans()):
            target.pop(last, None)
        elif isinstance(target, dict):
            target[last] = draw(json_values)
    return json.dumps(data).encode("utf-8")


@settings(max_examples=300)
@given(case_files())
def test_malformed_case_files_give_a_result_or_one_error_line(content: bytes) -> None:
    """What ``cspbill rate`` prints: a result, or (``UserFacingError``) one line naming the field. Any other
    exception would reach the user as a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.json"
        path.write_bytes(content)
        try:
            result = rate_case_file(path)
        except UserFacingError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert set(result) == {"currency", "lines", "total"}
