"""Which price-book edition prices a charge period, and on which day its rules are read (plain data, table-driven)."""

from __future__ import annotations

import datetime as dt

import pytest

from rating.proration import PricePolicy
from services.batches.editions import Editions, PriceDays, Reprice

D = dt.date.fromisoformat
BOOK = Editions({"2026-03": 2, "2026-04": 2, "2026-05": 5, "2026-07": 6},
                [Reprice(4, D("2026-04-15"), "old"), Reprice(7, D("2026-05-01"), "deal")])


@pytest.mark.parametrize(("day", "edition", "reprice"), [
    ("2026-02-10", None, None),  # never invoiced: the latest edition
    ("2026-03-10", 2, None),
    ("2026-04-10", 2, None),  # the reprice from 04-15 starts after this period's rules day
    ("2026-04-20", 4, 4),  # invoiced with edition 2, repriced by 4 (recorded later)
    ("2026-05-10", 7, 7),  # invoiced with 5; the reprice of 7 moves it on
    ("2026-06-10", None, None),
    ("2026-07-10", 7, 7),  # a reprice recorded after edition 6 covers July too
])
def test_the_edition_of_a_period(day: str, edition: int | None, reprice: int | None) -> None:
    got, moved = BOOK.at(D(day))
    assert (got, moved.edition if moved else None) == (edition, reprice)


def test_change_days_are_only_where_the_edition_may_change() -> None:
    assert BOOK.change_days == {D("2026-03-01"), D("2026-05-01"), D("2026-06-01"), D("2026-07-01"),
                                D("2026-08-01"), D("2026-04-15")}


@pytest.mark.parametrize(("policy", "day", "rules_day", "boundary"), [
    (PricePolicy.NEXT_CYCLE, "2026-04-20", "2026-04-10", "2026-05-10"),
    (PricePolicy.NEXT_CYCLE, "2026-05-10", "2026-05-10", "2026-05-10"),
    (PricePolicy.TERM, "2026-04-20", "2026-03-10", "2027-03-10"),
    (PricePolicy.PRORATED, "2026-04-20", "2026-04-20", "2026-04-20"),
])
def test_rules_day_and_boundary_follow_the_policy(policy: PricePolicy, day: str, rules_day: str,
                                                  boundary: str) -> None:
    days = PriceDays(D("2026-03-10"), D("2026-03-10"), 1, 12, policy)
    assert (days.rules_day(D(day)), days.boundary(D(day))) == (D(rules_day), D(boundary))
