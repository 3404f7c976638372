"""What the sandbox customers ask for during the scenario month: every seat change and cancellation the worlds show.

Why a plan apart from the servers: the seeded worlds change seats on their own as the sandbox clock moves (the
customer's request reached the vendor), but a reseller's service desk hears of each request first and enters a
ticket. The demo's desk reads this plan (same seed, same month as the sandboxes it runs) to enter those tickets the
night before the vendor shows the change; it never learns them from the ledger after the fact. Built from fresh
worlds, so what a sandbox was asked at run time (a desk mutation provisioned at Partner Center) is not in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sandbox.scenario_distributors import ingram_world, pax8_world
from sandbox.scenario_distributors.seats import SeatTimeline, month_end_of
from sandbox.scenario_microsoft import scenario

_MOMENT = dt.timedelta(microseconds=1)  # the instant just before a change


@dataclass(frozen=True)
class SeatRequest:
    """One customer request, shown by ``vendor`` (the sandbox module's name) from ``at`` (UTC) on.

    ``line_id`` is the product line within the subscription where the vendor has several (Ingram CMP); elsewhere it
    equals ``subscription_id``. A cancellation has ``cancel`` set and ``after`` 0.
    """

    vendor: str
    subscription_id: str
    line_id: str
    at: dt.datetime
    before: int
    after: int
    cancel: bool = False


def customer_requests(seed: int, month: dt.date) -> list[SeatRequest]:
    """Every request of the month starting at ``month`` that the sandboxes of ``seed`` will show, in time order."""
    start = month.replace(day=1)
    until = dt.datetime.combine(month_end_of(start), dt.time.max, tzinfo=dt.UTC)
    requests = _microsoft(seed, start, until) + _pax8(seed, start, until) + _ingram(seed, start, until)
    return sorted(requests, key=lambda request: (request.at, request.vendor, request.subscription_id, request.line_id))


def _microsoft(seed: int, start: dt.date, until: dt.datetime) -> list[SeatRequest]:
    """Partner Center: the seat changes after each subscription's purchase (each a delta on the count before)."""
    requests = []
    for customer in scenario(seed, start).customers:
        for sub in customer.subscriptions:
            quantity = sub.changes[0][1]
            for at, delta, _ in sub.changes[1:]:
                if start <= at.date() and at <= until:
                    requests.append(SeatRequest("partner_center", sub.id, sub.id, at, quantity, quantity + delta))
                quantity += delta
    return requests


def _pax8(seed: int, start: dt.date, until: dt.datetime) -> list[SeatRequest]:
    """Pax8: each subscription's seat timeline, and the cancellations (which also take its seats)."""
    world = pax8_world(seed, start)
    requests = []
    for subscription in world.subscriptions:
        sub_id = subscription["id"]
        cancelled = world.cancellations.get(sub_id)
        ends = cancelled if cancelled is not None and cancelled <= until else None
        requests += _timeline("pax8", sub_id, sub_id, world.seats[sub_id], start, ends or until)
        if ends is not None:
            requests.append(SeatRequest("pax8", sub_id, sub_id, ends, world.seats[sub_id].at(ends - _MOMENT), 0,
                                        cancel=True))
    return requests


def _ingram(seed: int, start: dt.date, until: dt.datetime) -> list[SeatRequest]:
    """Ingram CMP: the seat timeline of every product line of every subscription."""
    world = ingram_world(seed, start)
    return [request for (sub_id, line_id), timeline in world.seats.items()
            for request in _timeline("ingram", sub_id, line_id, timeline, start, until)]



def _timeline(vendor: str, sub_id: str, line_id: str, timeline: SeatTimeline, start: dt.date,
              until: dt.datetime) -> list[SeatRequest]:
    """The changes of one timeline in the month before ``until`` (exclusive) that change the count."""
    return [SeatRequest(vendor, sub_id, line_id, when, before, after)
            for when, before, after in timeline.changes(until - _MOMENT)
            if when.date() >= start and before != after]
