"""The demo desk's ticket plan: one ticket per customer request a night of the month shows, entered the night before
and effective the day the nightly sync first shows the change, but for the few requests made in the vendor's portal;
each ticket asks for exactly the change the vendor will show, in plain words. On the real ledger the desk enters them
through the desk's service: what the NCE rules refuse is counted, and a ticket already entered is not entered again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from config import Settings, load_config
from connectors.records import PullResult
from sandbox.customer_requests import SeatRequest, customer_requests
from services.clock import FixedClock
from services.demo.month import NIGHT
from services.demo.tickets import PORTAL_CHANGES, DeskTickets, MonthPlan, Ticket, plan_tickets
from services.desk import list_mutations
from services.operations import initialise
from services.sync import sync
from tests.conftest import ROOT
from tests.identity import actor, nightly
from tests.services.sync.test_sync_support import Vendor, licence, night

MONTH = dt.date(2026, 5, 1)
SETTINGS = load_config(ROOT / "config.yaml")
ZONE = ZoneInfo(SETTINGS.schedule.timezone)


def sync_night(day: dt.date) -> dt.datetime:
    """The demo's nightly sync of ``day``."""
    return dt.datetime.combine(day, NIGHT, tzinfo=ZONE)


def test_each_ticket_is_entered_the_night_before_the_sync_that_shows_its_change() -> None:
    plan = plan_tickets(SETTINGS, 1, MONTH, NIGHT)
    tickets = [ticket for tickets in plan.tickets.values() for ticket in tickets]
    for entered, on_night in plan.tickets.items():
        for ticket in on_night:
            assert entered == ticket.effective - dt.timedelta(days=1)
            assert sync_night(entered) <= ticket.request.at < sync_night(ticket.effective), ticket
            assert MONTH < ticket.effective <= dt.date(2026, 5, 31)
    assert len({t.number for t in tickets}) == len(tickets)
    shown = [r for r in customer_requests(1, MONTH) if r.at < sync_night(dt.date(2026, 5, 31))]
    assert len(tickets) + sum(plan.portal.values()) == len(shown)  # the rest: shown by June's first night
    assert sum(plan.portal.values()) == sum(len(n) for n in PORTAL_CHANGES.values()) == 3
    by_source = {t.source for t in tickets}
    assert by_source == {"partner-center", "pax8", "ingram"}
    ingram = next(t for t in tickets if t.source == "ingram")
    assert ingram.external_id == f"{ingram.request.subscription_id}/{ingram.request.line_id}"  # the ledger's key


def test_a_source_that_is_not_read_gets_no_tickets() -> None:
    settings = SETTINGS.model_copy(update={"sources": [s for s in SETTINGS.sources if s.kind != "pax8"]})
    plan = plan_tickets(settings, 1, MONTH, NIGHT)
    assert "pax8" not in {t.source for tickets in plan.tickets.values() for t in tickets}


AT = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("before", "after", "cancel", "delta", "reason"), [
    (4, 7, False, Decimal(3), "customer asked for 3 more seats"),
    (4, 5, False, Decimal(1), "customer asked for 1 more seat"),
    (4, 2, False, Decimal(-2), "customer asked to remove 2 seats"),
    (4, 0, True, None, "customer cancelled the subscription"),
])
def test_the_ticket_asks_for_the_change_the_vendor_shows(before: int, after: int, cancel: bool,
                                                        delta: Decimal | None, reason: str) -> None:
    ticket = Ticket("REQ-2605-001", "pax8", "sub-1", dt.date(2026, 5, 13),
                    SeatRequest("pax8", "sub-1", "sub-1", AT, before, after, cancel))
    request = ticket.mutation(42)
    assert (request.subscription_id, request.effective_date, request.ticket_ref) == (42, dt.date(2026, 5, 13),
                                                                                    "REQ-2605-001")
    assert (request.delta, request.cancel, request.new_quantity, request.reason) == (delta, cancel, None, reason)


def request(sub: str, before: int, after: int) -> Ticket:
    return Ticket(f"REQ-2605-{sub}", "pax8", sub, dt.date(2026, 5, 2),
                  SeatRequest("pax8", sub, sub, dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC), before, after))


def test_the_desk_enters_each_ticket_once_and_counts_what_the_rules_refuse(settings: Settings) -> None:
    initialise(settings)
    vendor = Vendor()
    vendor.answers["pax8"] = PullResult(licences=(
        licence("free", 3, commitment_term=None, customer_reference="ERP-1"),  # no commitment: drops any time
        licence("nce", 8, customer_reference="ERP-1"),  # an annual term bought in March: its window is long closed
    ))
    sync(settings, FixedClock(night(1)), who=nightly(settings), source="pax8", open_reader=vendor.open)
    first = dt.date(2026, 5, 1)
    plan = MonthPlan({first: [request("free", 3, 1), request("nce", 8, 7), request("gone", 2, 3)]}, {first: 1})
    desk, clock, said = actor(settings, "dana"), FixedClock(night(1)), []
    tickets = DeskTickets(settings, desk, plan, first)
    tickets.enter(first, clock, said.append)
    assert tickets.counts == {"pax8_entered": 1, "pax8_refused": 1, "pax8_not_in_ledger": 1, "left_to_portal": 1}
    assert tickets.refused == 1 and "refused REQ-2605-nce: reduction of sub" in said[-1]
    again = DeskTickets(settings, desk, plan, first)  # a second run of the same night
    again.enter(first, clock, said.append)
    assert again.counts["pax8_entered"] == 0
    entered = list_mutations(settings, desk, month="2026-05")
    assert [(m.ticket_ref, m.kind, m.new_quantity, m.effective_date, m.reason) for m in entered] == [
        ("REQ-2605-free", "decrease", Decimal(1), dt.date(2026, 5, 2), "customer asked to remove 2 seats")]
