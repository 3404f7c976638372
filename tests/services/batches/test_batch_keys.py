"""Line keys, owned months and the should-minus-billed diff, on plain data (table-driven and hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.batches.diff import LATE_COST, LATE_SNAPSHOT, LATE_USAGE, PRICE_CORRECTION, REPRICE, diff_lines
from services.batches.lines import BilledLine, DesiredLine, DraftLine, base_key, line_key
from services.batches.months import owned_months, parse_month
from services.errors import ValidationFailed

D = dt.date.fromisoformat


@pytest.mark.parametrize(("parts", "expected"), [
    (("nl-bv", 12, 345, D("2026-05-01"), D("2026-05-31"), "charge"), "nl-bv/12/345/2026-05-01..2026-05-31/charge"),
    (("de-gmbh", 1, 2, D("2026-05-12"), D("2026-06-09"), "credit"), "de-gmbh/1/2/2026-05-12..2026-06-09/credit"),
    (("nl-bv", 3, "ext:azure-9", D("2026-04-01"), D("2026-04-30"), "usage:m-1"),
     "nl-bv/3/ext:azure-9/2026-04-01..2026-04-30/usage:m-1"),
])
def test_base_keys_name_tenant_customer_subscription_period_and_kind(parts: tuple, expected: str) -> None:
    assert base_key(*parts) == expected
    assert line_key(expected, 3) == expected + "/v3"


@given(st.dates(), st.dates(), st.integers(1, 10**6), st.integers(1, 10**6), st.sampled_from(["charge", "credit"]))
def test_keys_are_deterministic_and_distinct(start: dt.date, end: dt.date, customer: int, subscription: int,
                                            kind: str) -> None:
    key = base_key("nl-bv", customer, subscription, start, end, kind)
    assert key == base_key("nl-bv", customer, subscription, start, end, kind)
    assert key != base_key("nl-bv", customer, subscription + 1, start, end, kind)
    assert key != base_key("nl-bv", customer, subscription, start, end + dt.timedelta(days=1), kind)
    assert line_key(key, 1) != line_key(key, 2)


@pytest.mark.parametrize("text", ["2026-13", "2026-5", "26-05", "", "2026-05-01"])
def test_months_are_validated(text: str) -> None:
    with pytest.raises(ValidationFailed, match="--month"):
        parse_month(text)


@pytest.mark.parametrize(("month", "statuses", "expected"), [
    ("2026-05", {}, ("2026-05", "2026-05")),  # first batch: nothing before it is billed
    ("2026-05", {"2026-04": "approved"}, ("2026-04", "2026-05")),  # late data for April comes in May
    ("2026-06", {"2026-04": "exported", "2026-05": "draft"}, ("2026-06", "2026-06")),  # May's draft owns April too
    ("2026-06", {"2026-04": "draft", "2026-05": "approved"}, ("2026-05", "2026-06")),
    ("2027-06", {"2026-01": "exported", "2027-05": "exported"}, ("2026-06", "2027-06")),  # 12 months back at most
])
def test_owned_months(month: str, statuses: dict[str, str], expected: tuple[str, str]) -> None:
    assert owned_months(month, statuses) == expected


def desired(base: str, amount: str, bill_month: str = "2026-05", quantity: int = 10, price: str = "30",
            kind: str = "charge", **lineage: str) -> DesiredLine:
    return DesiredLine(base, 1, 1, kind, D("2026-05-01"), D("2026-05-31"), bill_month, f"line {base}",
                       Decimal(quantity), Decimal(price), Decimal(amount), Decimal(amount), "EUR",
                       {"formula": "q × u", **lineage})


def billed(base: str, amount: str, version: int = 1, bill_month: str = "2026-04", quantity: int = 10,
           price: str = "30", kind: str = "charge") -> BilledLine:
    return BilledLine(line_key(base, version), base, version, Decimal(amount), Decimal(quantity), Decimal(price),
                      bill_month, kind, 1, 1, D("2026-04-01"), D("2026-04-30"), "EUR", f"line {base}")


K = "nl-bv/1/1/2026-04-01..2026-04-30/charge"
U = "nl-bv/1/1/2026-03-01..2026-03-31/usage:m-1"


@pytest.mark.parametrize(("case", "want", "done", "expected"), [
    ("new key", {K: desired(K, "300")}, {}, [(K + "/v1", "charge", "300", None, None)]),
    ("zero amount is no line", {K: desired(K, "0")}, {}, []),
    ("billed and unchanged", {K: desired(K, "300", "2026-04")}, {K: [billed(K, "300")]}, []),
    ("seat change after billing", {K: desired(K, "360", "2026-04", quantity=12)}, {K: [billed(K, "300")]},
     [(K + "/v2", "correction", "60", LATE_SNAPSHOT, K + "/v1")]),
    ("price correction", {K: desired(K, "330", "2026-04", price="33")}, {K: [billed(K, "300")]},
     [(K + "/v2", "correction", "30", PRICE_CORRECTION, K + "/v1")]),
    ("a cost line arrived late", {K: desired(K, "330", "2026-04", price="33", price_version="cost 30 (cost line 9)")},
     {K: [billed(K, "300")]}, [(K + "/v2", "correction", "30", LATE_COST, K + "/v1")]),
    ("an explicit reprice", {K: desired(K, "330", "2026-04", price="33", reprice="reprice 7 from 2026-04-01: deal")},
     {K: [billed(K, "300")]}, [(K + "/v2", "correction", "30", REPRICE, K + "/v1")]),
    ("a reprice of late usage", {U: desired(U, "12.50", "2026-04", kind="usage", reprice="reprice 7")},
     {U: [billed(U, "11.50", kind="usage")]}, [(U + "/v2", "correction", "1", REPRICE, U + "/v1")]),
    ("gone entirely", {}, {K: [billed(K, "300")]}, [(K + "/v2", "correction", "-300", LATE_SNAPSHOT, K + "/v1")]),
    ("corrected before, now right", {K: desired(K, "360", "2026-04")},
     {K: [billed(K, "300"), billed(K, "60", version=2)]}, []),
    ("corrected before, changed again", {K: desired(K, "330", "2026-04")},
     {K: [billed(K, "300"), billed(K, "60", version=2)]},
     [(K + "/v3", "correction", "-30", LATE_SNAPSHOT, K + "/v2")]),
    ("late usage row", {U: desired(U, "12.50", "2026-04", kind="usage")},
     {U: [billed(U, "11.50", kind="usage")]}, [(U + "/v2", "correction", "1", LATE_USAGE, U + "/v1")]),
    ("new key for a closed month", {K: desired(K, "30", "2026-04")}, {},
     [(K + "/v1", "correction", "30", LATE_SNAPSHOT, None)]),
])
def test_diff_table(case: str, want: dict, done: dict, expected: list) -> None:
    lines = diff_lines("2026-05", want, done, closed_months={"2026-04"})
    got = [(line.line_key, line.kind, str(line.amount.normalize()), line.reason_code, line.corrects_line_key)
           for line in lines]
    assert got == [(k, kind, str(Decimal(a).normalize()), r, c) for k, kind, a, r, c in expected], case


amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
keys = st.sampled_from([f"nl-bv/1/{n}/2026-04-01..2026-04-30/charge" for n in range(6)])


def as_billed(line: DraftLine) -> BilledLine:
    return BilledLine(line.line_key, line.base_key, line.version, line.amount, line.quantity, line.unit_price,
                      line.bill_month, line.kind, line.customer_id, line.subscription_id, line.period_from,
                      line.period_to, line.currency, line.description)


@given(st.dictionaries(keys, amounts, max_size=6), st.dictionaries(keys, st.lists(amounts, min_size=1, max_size=3),
                                                                   max_size=6))
def test_diff_invariants(should: dict[str, Decimal], history: dict[str, list[Decimal]]) -> None:
    """After billing the draft, billed equals should per key; a second diff is empty; diffing twice is identical."""
    want = {k: desired(k, str(a), "2026-04") for k, a in should.items()}
    done = {k: [billed(k, str(a), version=i + 1) for i, a in enumerate(amounts_)] for k, amounts_ in history.items()}
    first = diff_lines("2026-05", want, done, {"2026-04"})
    assert first == diff_lines("2026-05", want, done, {"2026-04"})
    assert len({line.line_key for line in first}) == len(first)
    for line in first:
        done.setdefault(line.base_key, []).append(as_billed(line))
        assert line.version == len(done[line.base_key])
    for key in want.keys() | done.keys():
        total = sum((line.amount for line in done.get(key, [])), Decimal(0))
        assert total == (want[key].amount if key in want else Decimal(0))
    assert diff_lines("2026-05", want, done, {"2026-04"}) == []


@given(st.dictionaries(keys, amounts, max_size=6), st.dictionaries(keys, st.lists(amounts, min_size=1, max_size=3),
                                                                   max_size=6))
def test_a_charge_billed_as_it_should_be_may_be_settled_instead_of_desired(should: dict[str, Decimal],
                                                                           history: dict[str, list[Decimal]]) -> None:
    """What ``bulk_licence_lines`` relies on: leaving out the charges whose amount equals what their key billed, and
    naming them ``settled``, gives the same draft lines; a settled key is never corrected to zero as gone."""
    want = {k: desired(k, str(a), "2026-04") for k, a in should.items()}
    done = {k: [billed(k, str(a), version=i + 1) for i, a in enumerate(amounts_)] for k, amounts_ in history.items()}
    settled = {k for k in want.keys() & done.keys() if want[k].amount == sum((b.amount for b in done[k]), Decimal(0))}
    kept = {k: line for k, line in want.items() if k not in settled}
    assert diff_lines("2026-05", kept, done, {"2026-04"}, settled) == diff_lines("2026-05", want, done, {"2026-04"})
    if any(want[k].amount != 0 for k in settled):  # not settled, such a key would be corrected to zero
        assert diff_lines("2026-05", kept, done, {"2026-04"}) != diff_lines("2026-05", want, done, {"2026-04"})
