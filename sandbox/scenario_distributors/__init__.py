"""Deterministic, seeded worlds for the Pax8 and Ingram CMP sandboxes: customers, subscriptions and a month of seats.

Why a generator instead of fixtures: night-by-night syncs must see different seat counts, so every seat-bearing
line carries a ``SeatTimeline`` of dated changes across the scenario month; the sandbox answers with the count at its
clock's "now". The same seed and month always give the same world, so tests and the demo can name what they expect.
Everything is in EUR; payload dicts use the vendors' wire field names (distributors.md §2.3, §3.3).
"""

from sandbox.scenario_distributors.ingram import IngramWorld, ingram_world
from sandbox.scenario_distributors.pax8 import Pax8World, pax8_world, usage_lines
from sandbox.scenario_distributors.seats import month_start_of

__all__ = ["IngramWorld", "Pax8World", "ingram_world", "month_start_of", "pax8_world", "usage_lines"]
