"""The review rule, table-driven: which finding blocks approval with and without an acknowledgement, and which
customer change is beyond the thresholds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rating.review import (
    KINDS,
    MASTER_DATA,
    NEGATIVE_MARGIN,
    NOT_PROVISIONED,
    VENDOR_COUNTS,
    ReviewFinding,
    beyond_threshold,
    blocks,
    change_percent,
    negative_margin,
    still_blocking,
)


def finding(kind: str, fingerprint: str = "f-1") -> ReviewFinding:
    return ReviewFinding(kind, f"{kind}:{fingerprint}", 1, "Contoso", "subscription 7", "what happened")


@pytest.mark.parametrize(("kind", "acknowledged", "blocking"), [
    (MASTER_DATA, False, True),
    (MASTER_DATA, True, True),  # a hard block: an acknowledgement does not count
    (NEGATIVE_MARGIN, False, True),
    (NEGATIVE_MARGIN, True, False),
    (NOT_PROVISIONED, False, True),
    (NOT_PROVISIONED, True, False),
    (VENDOR_COUNTS, False, True),
    (VENDOR_COUNTS, True, False),
])
def test_which_finding_blocks(kind: str, acknowledged: bool, blocking: bool) -> None:
    item = finding(kind)
    assert blocks(item, {item.fingerprint} if acknowledged else set()) is blocking


def test_an_acknowledgement_counts_only_for_the_facts_it_named() -> None:
    before, after = finding(NEGATIVE_MARGIN, "7:2026-04:172.50:500"), finding(NEGATIVE_MARGIN, "7:2026-04:207:500")
    assert still_blocking([before, after], {before.fingerprint}) == [after]
    assert before.id != after.id and len(before.id) == 10
    assert finding(NEGATIVE_MARGIN, "x").id == finding(NEGATIVE_MARGIN, "x").id  # stable


def test_every_kind_has_a_title_and_only_master_data_is_hard() -> None:
    assert [kind for kind in KINDS if finding(kind).hard] == [MASTER_DATA]
    assert all(str(finding(kind)).split(": ")[0].split(" ", 1)[1] for kind in KINDS)


@pytest.mark.parametrize(("billed", "cost", "negative"), [
    ("172.50", "500.00", True), ("500.00", "500.00", False), ("600", "500", False), ("-10", "0", True),
])
def test_negative_margin(billed: str, cost: str, negative: bool) -> None:
    assert negative_margin(Decimal(billed), Decimal(cost)) is negative


@pytest.mark.parametrize(("previous", "current", "percent"), [
    ("100", "150", "50.0"), ("200", "100", "-50.0"), ("0", "80", None), ("-100", "-50", "50.0"), ("3", "4", "33.3"),
])
def test_change_percent(previous: str, current: str, percent: str | None) -> None:
    result = change_percent(Decimal(previous), Decimal(current))
    assert result == (None if percent is None else Decimal(percent))


@pytest.mark.parametrize(("previous", "current", "percent", "amount", "flagged"), [
    ("1000", "1300", "20", "100", True),  # +30 %, +300
    ("1000", "1150", "20", "100", False),  # +15 % only
    ("100", "150", "20", "100", False),  # +50 % but only 50
    ("0", "150", "20", "100", True),  # new, above the amount
    ("0", "50", "20", "100", False),  # new, below the amount
    ("500", "0", "20", "100", True),  # gone
    ("1000", "1000", "0", "0", False),  # no change is never a flag
    ("1000", "1001", "0", "0", True),  # thresholds at 0 flag any change
    ("40", "44", "10", "0", True),  # percent alone
])
def test_beyond_threshold(previous: str, current: str, percent: str, amount: str, flagged: bool) -> None:
    assert beyond_threshold(Decimal(previous), Decimal(current), Decimal(percent), Decimal(amount)) is flagged
