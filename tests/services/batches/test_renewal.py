"""A renewal starts a new term; it does not re-date or re-price the term already invoiced.

The vendor reports the *current* term's start (Partner Center's ``effectiveStartDate`` moves to the renewal day), so
the ledger must keep the subscription's first day and billing anchor when a later night shows the next term. Run
through the real sync and batch build on SQLite and PostgreSQL: the month after the renewal bills the new term and
corrects nothing of the month already invoiced.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from config import Settings
from connectors.records import PullResult
from ledger.models import Invoice, InvoiceLine
from services.batches import build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import actor, nightly
from tests.services.batches.test_batch_support import mark_exported
from tests.services.sync.test_sync_support import Vendor, licence, night

D = dt.date
TENANT = "de-gmbh"  # the pax8 source's legal entity in the demo config
BUILT = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))

# (night, term start, term end) as the vendor reports them: a one-month term bought on 04-11 (first read on 04-20, as
# when the ledger goes live mid-term), renewed on 05-11 and 06-11
TERMS = [((4, 20), D(2026, 4, 11), D(2026, 5, 10)),
         ((5, 1), D(2026, 4, 11), D(2026, 5, 10)),
         ((5, 11), D(2026, 5, 11), D(2026, 6, 10)),
         ((6, 11), D(2026, 6, 11), D(2026, 7, 10))]


def night_of(settings: Settings, vendor: Vendor, when: tuple[int, int], start: dt.date, end: dt.date) -> None:
    month, day = when
    vendor.answers["pax8"] = PullResult(licences=(licence(
        "s1", 3, commitment_term="P1M", billing_frequency="P1M", term_start=start, term_end=end,
        customer_reference="ERP-1", as_of=night(day, month)),))
    sync(settings, FixedClock(night(day, month)), who=nightly(settings), source="pax8", open_reader=vendor.open)


def lines_of(settings: Settings, month: str) -> list[InvoiceLine]:
    """The lines of the subscription on the invoices of ``month``'s batch (its corrections of earlier months too)."""
    with UnitOfWork(engine_for(settings)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        batch = uow.batches.for_month(sub.tenant_id, month)
        return list(uow.session.scalars(
            select(InvoiceLine).join(Invoice).where(Invoice.batch_id == batch.id, InvoiceLine.subscription_id == sub.id)
            .order_by(InvoiceLine.id)))


@pytest.mark.parametrize("nights", [2, 3, 4], ids=["before-renewal", "renewed", "renewed-twice"])
def test_a_renewal_keeps_the_first_start_and_anchor(settings: Settings, nights: int) -> None:
    initialise(settings)
    vendor = Vendor()
    for when, start, end in TERMS[:nights]:
        night_of(settings, vendor, when, start, end)
    with UnitOfWork(engine_for(settings)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert (sub.start_date, sub.anchor_date) == (D(2026, 4, 11), D(2026, 4, 11))
        assert sub.term_end == TERMS[nights - 1][2]  # the current term's end follows the vendor


def test_a_vendor_that_corrects_the_start_backwards_is_followed(settings: Settings) -> None:
    initialise(settings)
    vendor = Vendor()
    night_of(settings, vendor, (4, 11), D(2026, 4, 11), D(2026, 5, 10))
    night_of(settings, vendor, (4, 12), D(2026, 4, 9), D(2026, 5, 8))
    with UnitOfWork(engine_for(settings)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert (sub.start_date, sub.anchor_date, sub.term_end) == (D(2026, 4, 9), D(2026, 4, 9), D(2026, 5, 8))


def test_the_month_after_a_renewal_corrects_nothing_already_invoiced(settings: Settings) -> None:
    initialise(settings)
    vendor = Vendor()
    for when, start, end in TERMS[:2]:
        night_of(settings, vendor, when, start, end)
    build_batch(settings, TENANT, "2026-04", actor(settings, "greta"), BUILT)
    mark_exported(settings, TENANT, "2026-04")
    april = lines_of(settings, "2026-04")
    assert [(line.kind, line.period_from, line.period_to) for line in april] == [
        ("charge", D(2026, 4, 11), D(2026, 5, 10))]
    night_of(settings, vendor, *TERMS[2])
    build_batch(settings, TENANT, "2026-05", actor(settings, "greta"), BUILT)
    may = lines_of(settings, "2026-05")
    # the renewed term's first cycle, charged in advance, and no credit or correction of April's invoiced cycle
    assert [(line.kind, line.period_from, line.period_to, line.quantity) for line in may] == [
        ("charge", D(2026, 5, 11), D(2026, 6, 10), 3)]
    assert may[0].amount == april[0].amount
