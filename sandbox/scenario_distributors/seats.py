"""Seat counts over the scenario month: the month's calendar and the ``SeatTimeline`` of every seat-bearing line.

Why timelines: night-by-night syncs must see different seat counts, so each line carries dated changes across the
scenario month and the sandbox answers with the count at its clock's "now". Shared by the Pax8 and Ingram worlds.
"""

from __future__ import annotations

import datetime as dt
import random
import threading


def month_start_of(now: dt.datetime) -> dt.date:
    """The first day of the scenario month: the month the sandbox clock is in when the world is built."""
    return now.date().replace(day=1)


def month_end_of(start: dt.date) -> dt.date:
    """The last day (inclusive) of the month starting at ``start``."""
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


class SeatTimeline:
    """Seat count of one subscription line over sandbox time: a starting count and dated changes.

    Changes are absolute counts, so an admin mutation at "now" and the scenario's scheduled changes share one list;
    ``at(now)`` answers what a sync at that instant must see, ``changes(now)`` the history visible by then.
    """

    def __init__(self, initial: int, since: dt.datetime) -> None:
        self.initial = initial
        self.since = since
        self._changes: list[tuple[dt.datetime, int]] = []
        self._lock = threading.Lock()

    def schedule(self, when: dt.datetime, quantity: int) -> None:
        with self._lock:
            self._changes.append((when, quantity))
            self._changes.sort(key=lambda change: change[0])

    def at(self, now: dt.datetime) -> int:
        with self._lock:
            quantity = self.initial
            for when, value in self._changes:
                if when > now:
                    break
                quantity = value
            return quantity

    def changes(self, now: dt.datetime) -> list[tuple[dt.datetime, int, int]]:
        """(when, previous, new) for every change visible at ``now``."""
        with self._lock:
            out: list[tuple[dt.datetime, int, int]] = []
            previous = self.initial
            for when, value in self._changes:
                if when > now:
                    break
                out.append((when, previous, value))
                previous = value
            return out

    def last_change(self, now: dt.datetime) -> dt.datetime:
        visible = self.changes(now)
        return visible[-1][0] if visible else self.since


def moment(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """``day`` at ``hour:minute`` UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def schedule_month(rng: random.Random, timeline: SeatTimeline, start: dt.date, grow_only: bool,
                   window: dt.timedelta | None = None) -> None:
    """Random working-hours seat changes across the month (annual NCE terms only grow mid-term).

    With a ``window`` (NCE: 168 hours, reference/microsoft.md §3.5) a reduction takes only seats added less than that
    long before, newest first, and is left out when there are none; the draws stay the same either way, so the rest
    of the world does not move.
    """
    quantity = timeline.initial
    added: list[list] = []  # [seats, when] of the month's increases, oldest first
    for offset in range(1, month_end_of(start).day):
        if rng.random() >= 0.18:
            continue
        step = rng.choice((1, 1, 2, 3) if grow_only else (-2, -1, -1, 1, 1, 2, 3))
        when = moment(start + dt.timedelta(days=offset), rng.randint(8, 17), rng.randint(0, 59))
        if window is None:
            quantity = max(1, quantity + step)
            timeline.schedule(when, quantity)
            continue
        if step < 0:
            step = -min(-step, quantity - 1, sum(seats for seats, at in added if when - at < window))
            _take_newest(added, -step)
        elif step > 0:
            added.append([step, when])
        if step:
            quantity += step
            timeline.schedule(when, quantity)


def _take_newest(added: list[list], seats: int) -> None:
    """Remove ``seats`` from the newest batches first (the ones still inside the window)."""
    for batch in reversed(added):
        taken = min(batch[0], seats)
        batch[0], seats = batch[0] - taken, seats - taken
