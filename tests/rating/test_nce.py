"""The NCE mutation rules, table-driven, with the exact sentences the desk sees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.nce import Change, SeatBatch, Terms, allowed_reduction, decide

UTC = dt.UTC
NOW = dt.datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
ADDED = dt.datetime(2026, 5, 3, 10, 0, tzinfo=UTC)  # 71 hours before NOW: inside the window
OLD = dt.datetime(2026, 3, 10, 8, 30, tzinfo=UTC)  # the purchase: long closed
TERMS = Terms(
    name="sub 7 (Example 365 E3)",
    quantity=Decimal(14),
    status="active",
    commitment_term="P1Y",
    start_date=dt.date(2026, 3, 10),
    term_end=dt.date(2027, 3, 9),
)
BATCHES = (SeatBatch.added(Decimal(10), OLD), SeatBatch.added(Decimal(4), ADDED))
D = dt.date

CASES = [
    # (id, change, terms overrides, batches, now, schedule flag, outcome, sentence, next allowed)
    ("increase any time", Change("increase", D(2026, 5, 6), Decimal(20)), {}, BATCHES, NOW, False,
     "allowed", "", None),
    ("upgrade any time", Change("upgrade", D(2026, 5, 6)), {}, BATCHES, NOW, False, "allowed", "", None),
    ("decrease inside the window of the newest batch", Change("decrease", D(2026, 5, 6), Decimal(10)), {}, BATCHES,
     NOW, False, "allowed", "", None),
    ("decrease beyond the open batch", Change("decrease", D(2026, 5, 6), Decimal(9)), {}, BATCHES, NOW, False,
     "refused",
     "reduction of sub 7 (Example 365 E3) refused: 5 seats asked but only 4 were added in the last 168 hours "
     "(can be reduced until 2026-05-10 10:00 UTC); next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("decrease after the window closed", Change("decrease", D(2026, 5, 11), Decimal(12)), {}, BATCHES,
     dt.datetime(2026, 5, 11, 9, 0, tzinfo=UTC), False, "refused",
     "reduction of sub 7 (Example 365 E3) refused: NCE seats added 2026-05-03 10:00 UTC can only be reduced until "
     "2026-05-10 10:00 UTC; next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("window closes at the same clock time seven days later", Change("decrease", D(2026, 5, 10), Decimal(12)), {},
     BATCHES, dt.datetime(2026, 5, 10, 10, 0, tzinfo=UTC), False, "refused",
     "reduction of sub 7 (Example 365 E3) refused: NCE seats added 2026-05-03 10:00 UTC can only be reduced until "
     "2026-05-10 10:00 UTC; next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("one minute before the deadline", Change("decrease", D(2026, 5, 10), Decimal(12)), {}, BATCHES,
     dt.datetime(2026, 5, 10, 9, 59, tzinfo=UTC), False, "allowed", "", None),
    ("a future-dated reduction is judged on its day", Change("decrease", D(2026, 5, 12), Decimal(12)), {}, BATCHES,
     NOW, False, "refused",
     "reduction of sub 7 (Example 365 E3) refused: NCE seats added 2026-05-03 10:00 UTC can only be reduced until "
     "2026-05-10 10:00 UTC; next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("late decrease scheduled for renewal", Change("decrease", D(2026, 5, 20), Decimal(12)), {}, BATCHES,
     dt.datetime(2026, 5, 20, 9, 0, tzinfo=UTC), True, "scheduled",
     "reduction of sub 7 (Example 365 E3) scheduled for the renewal on 2027-03-10: outside the 168-hour window",
     D(2027, 3, 10)),
    ("late decrease cannot be scheduled without renewal", Change("decrease", D(2026, 5, 20), Decimal(12)),
     {"auto_renew": False}, BATCHES, dt.datetime(2026, 5, 20, 9, 0, tzinfo=UTC), True, "refused",
     "reduction of sub 7 (Example 365 E3) refused: NCE seats added 2026-05-03 10:00 UTC can only be reduced until "
     "2026-05-10 10:00 UTC; next allowed: none (the subscription does not renew)", None),
    ("no batch known at all", Change("decrease", D(2026, 5, 6), Decimal(12)), {}, (), NOW, False, "refused",
     "reduction of sub 7 (Example 365 E3) refused: no NCE seats were added in the 168 hours before 2026-05-06 09:00 "
     "UTC; next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("cancel inside the purchase window", Change("cancel", D(2026, 3, 12)), {"quantity": Decimal(10)},
     (SeatBatch.added(Decimal(10), OLD),), dt.datetime(2026, 3, 12, 8, 0, tzinfo=UTC), False, "allowed", "", None),
    ("cancel after the window", Change("cancel", D(2026, 5, 6)), {}, BATCHES, NOW, False, "refused",
     "cancellation of sub 7 (Example 365 E3) refused: 14 seats asked but only 4 were added in the last 168 hours "
     "(can be reduced until 2026-05-10 10:00 UTC); next allowed: renewal on 2027-03-10", D(2027, 3, 10)),
    ("cancel scheduled for renewal", Change("cancel", D(2026, 5, 6)), {}, BATCHES, NOW, True, "scheduled",
     "cancellation of sub 7 (Example 365 E3) scheduled for the renewal on 2027-03-10: outside the 168-hour window",
     D(2027, 3, 10)),
    ("no commitment: reduce any time", Change("decrease", D(2026, 5, 6), Decimal(3)), {"commitment_term": None}, (),
     NOW, False, "allowed", "", None),
    ("before the start", Change("increase", D(2026, 3, 1), Decimal(20)), {}, BATCHES, NOW, False, "refused",
     "increase of sub 7 (Example 365 E3) refused: effective 2026-03-01 is before the subscription starts on "
     "2026-03-10; next allowed: 2026-03-10", D(2026, 3, 10)),
    ("after the end of a cancelled subscription", Change("increase", D(2026, 6, 1), Decimal(20)),
     {"end_date": D(2026, 5, 31)}, BATCHES, NOW, False, "refused",
     "increase of sub 7 (Example 365 E3) refused: effective 2026-06-01 is after the subscription ends on 2026-05-31; "
     "no change is possible", None),
    ("after the term end without auto-renew", Change("increase", D(2027, 3, 10), Decimal(20)), {"auto_renew": False},
     BATCHES, NOW, False, "refused",
     "increase of sub 7 (Example 365 E3) refused: effective 2027-03-10 is after the subscription ends on 2027-03-09; "
     "no change is possible", None),
    ("suspended", Change("increase", D(2026, 5, 6), Decimal(20)), {"status": "suspended"}, BATCHES, NOW, False,
     "refused", "increase of sub 7 (Example 365 E3) refused: the subscription is suspended", None),
    ("an increase must increase", Change("increase", D(2026, 5, 6), Decimal(14)), {}, BATCHES, NOW, False, "refused",
     "increase of sub 7 (Example 365 E3) refused: new quantity 14 is not above 14", None),
    ("a decrease must decrease", Change("decrease", D(2026, 5, 6), Decimal(15)), {}, BATCHES, NOW, False, "refused",
     "reduction of sub 7 (Example 365 E3) refused: new quantity 15 must be between 0 and 13", None),
]


@pytest.mark.parametrize(
    ("change", "overrides", "batches", "now", "schedule", "outcome", "sentence", "next_allowed"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_nce_rule(change, overrides, batches, now, schedule, outcome, sentence, next_allowed) -> None:
    terms = Terms(**{**TERMS.__dict__, **overrides})
    decision = decide(change, terms, batches, now, schedule_if_late=schedule)
    assert (decision.outcome, decision.reason, decision.next_allowed) == (outcome, sentence, next_allowed)
    if outcome == "scheduled":
        assert decision.scheduled_for == next_allowed


@given(
    st.lists(st.tuples(st.integers(1, 50), st.integers(0, 400)), max_size=6),
    st.integers(0, 400),
)
def test_allowed_reduction_counts_exactly_the_open_batches(batches, hours_later) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    seat_batches = [SeatBatch.added(Decimal(q), start + dt.timedelta(hours=h)) for q, h in batches]
    at = start + dt.timedelta(hours=hours_later)
    expected = sum(q for q, h in batches if h + 168 > hours_later)
    assert allowed_reduction(seat_batches, at) == expected
