"""The customer-request plan the demo desk reads agrees with what the seeded worlds serve: every change of a seat
count during the month (sampled hour by hour, independently of how the plan is built) is one request of that hour
with the counts before and after, and nothing else is planned; new purchases are not requests to change seats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from sandbox.customer_requests import SeatRequest, customer_requests
from sandbox.scenario_distributors import ingram_world, pax8_world
from sandbox.scenario_microsoft import scenario

MONTH = dt.date(2026, 5, 1)
HOUR = dt.timedelta(hours=1)
Count = Callable[[dt.datetime], int]


def served_counts(seed: int) -> dict[tuple[str, str, str], Count]:
    """The seat count each world serves at an instant, per (vendor, subscription id, line id); 0 once cancelled."""
    counts: dict[tuple[str, str, str], Count] = {}
    for customer in scenario(seed, MONTH).customers:
        for sub in customer.subscriptions:
            counts[("partner_center", sub.id, sub.id)] = sub.quantity_at
    pax8 = pax8_world(seed, MONTH)
    for subscription in pax8.subscriptions:
        sub_id, cancelled = subscription["id"], pax8.cancellations.get(subscription["id"])
        counts[("pax8", sub_id, sub_id)] = (
            lambda at, seats=pax8.seats[sub_id], cancelled=cancelled:
            0 if cancelled is not None and at >= cancelled else seats.at(at))
    ingram = ingram_world(seed, MONTH)
    for (sub_id, line_id), seats in ingram.seats.items():
        counts[("ingram", sub_id, line_id)] = seats.at
    return counts


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_every_served_change_of_the_month_is_one_request(seed: int) -> None:
    requests = customer_requests(seed, MONTH)
    assert requests == sorted(requests, key=lambda r: r.at)
    expected: list[tuple[tuple[str, str, str], dt.datetime, int, int]] = []
    start = dt.datetime.combine(MONTH, dt.time(0), dt.UTC)
    end = dt.datetime.combine(dt.date(2026, 6, 1), dt.time(0), dt.UTC)
    for key, count in served_counts(seed).items():
        hour, before = start, count(start - dt.timedelta(microseconds=1))
        while hour < end:
            after = count(hour + HOUR - dt.timedelta(microseconds=1))
            if after != before and before > 0:  # from nothing: a purchase, not a change the desk is asked for
                expected.append((key, hour, before, after))
            hour, before = hour + HOUR, after
    planned = [((r.vendor, r.subscription_id, r.line_id), r.at.replace(minute=0, second=0, microsecond=0), r.before,
                r.after) for r in requests]
    assert sorted(planned) == sorted(expected)
    assert {r.vendor for r in requests} == {"partner_center", "pax8", "ingram"}


def test_cancellations_are_requests_of_their_own() -> None:
    world = pax8_world(1, MONTH)
    cancels = [r for r in customer_requests(1, MONTH) if r.cancel]
    assert {(r.subscription_id, r.at) for r in cancels} == set(world.cancellations.items())
    assert all(r.after == 0 and r.before > 0 for r in cancels)
    assert isinstance(cancels[0], SeatRequest)
