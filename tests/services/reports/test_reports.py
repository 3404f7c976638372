"""The reports over a seeded ledger (tests/services/reports/seed.py), figures checked by hand:

nl-bv, Contoso (Microsoft 365 E3): September billed 349.60 (2026-09-10..10-09), vendor 33.30 on 09-02 (never
billed: no billed stretch covers that day); October billed 69.92 - 58.27 + 419.52 = 431.17 against the vendor's
500.00 for 10-10..11-09, a margin of -68.83. Fabrikam (Business Premium): 552.00 billed in each month, no vendor
line. de-gmbh has only a draft batch: nothing billed, and its Pax8 charge is outside its (empty) billed window.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from config import Settings
from services.clock import FixedClock
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.reports import leakage_report, margin_report, mrr_report
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.reports.seed import CONTOSO_COST, LEAKED_COST, cost_line, seed_reports

CLOCK = FixedClock(dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC))
CONTOSO, FABRIKAM = "Contoso Zorg B.V.", "Fabrikam Logistiek"


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    seed_reports(settings)
    return settings


def test_margin_per_customer_product_and_month(seeded: Settings) -> None:
    report = margin_report(seeded, actor(seeded, "finn"), CLOCK, "2026-09", "2026-10")
    assert [(r.customer, r.month, r.billed, r.cost, r.margin, r.negative) for r in report.rows] == [
        (CONTOSO, "2026-09", Decimal("349.60"), LEAKED_COST, Decimal("316.30"), False),
        (CONTOSO, "2026-10", Decimal("431.17"), CONTOSO_COST, Decimal("-68.83"), True),
        (FABRIKAM, "2026-09", Decimal("552"), Decimal(0), Decimal("552"), False),
        (FABRIKAM, "2026-10", Decimal("552"), Decimal(0), Decimal("552"), False),
    ]
    assert [(t.tenant, t.currency, t.billed, t.cost, t.margin) for t in report.totals] == [
        ("nl-bv", "EUR", Decimal("1884.77"), Decimal("533.30"), Decimal("1351.47"))]
    assert report.across == []  # finance of one entity: no group totals
    assert [r.customer for r in report.negative] == [CONTOSO]
    assert report.tables()[0].flags == [False, True, False, False]


def test_group_admin_sees_every_entity_and_totals_per_currency(seeded: Settings) -> None:
    report = margin_report(seeded, actor(seeded, "ada"), CLOCK, "2026-09", "2026-10")
    assert {t.tenant for t in report.totals} == {"nl-bv"}  # de-gmbh's October is a draft: not billed
    assert [(t.tenant, t.currency, t.margin) for t in report.across] == [("", "EUR", Decimal("1351.47"))]
    assert [t.name for t in report.tables()] == ["margin", "margin-totals", "margin-group"]


def test_another_entity_is_not_found_and_desk_may_not_read_reports(seeded: Settings) -> None:
    with pytest.raises(NotFound):
        margin_report(seeded, actor(seeded, "finn"), CLOCK, "2026-09", "2026-10", tenant="de-gmbh")
    with pytest.raises(NotAllowed):
        leakage_report(seeded, actor(seeded, "dana"), CLOCK)
    greta = margin_report(seeded, actor(seeded, "greta"), CLOCK, "2026-09", "2026-10")
    assert greta.rows == [] and set(greta.scope.tenants.values()) == {"de-gmbh"}


def test_vendor_charges_never_billed_and_billed_lines_without_a_vendor_charge(seeded: Settings) -> None:
    report = leakage_report(seeded, actor(seeded, "finn"), CLOCK, "2026-09", "2026-10")
    assert [(m.vendor.amount, [b.amount for b in m.billed]) for m in report.matching.matched] == [
        (CONTOSO_COST, [Decimal("419.52")])]
    assert [(c.customer, c.first, c.amount) for c in report.matching.unbilled] == [
        (CONTOSO, dt.date(2026, 9, 2), LEAKED_COST)]
    assert sorted(c.amount for c in report.matching.unbacked) == [
        Decimal("-58.27"), Decimal("69.92"), Decimal("349.60"), Decimal("552"), Decimal("552")]
    assert report.totals() == [("nl-bv", "EUR", LEAKED_COST, Decimal("1465.25"), 1, 5)]
    assert report.vendor_charges == 2  # de-gmbh's Pax8 charge is outside its billed window (and finn's view)


def test_a_charge_covered_by_a_line_billed_the_month_before_is_matched(seeded: Settings) -> None:
    with UnitOfWork(engine_for(seeded), write=True) as uow:
        nl = uow.tenants.by_code("nl-bv")
        contoso = uow.reports.costs([nl.id], dt.date(2026, 10, 10), dt.date(2026, 10, 10))[0].subscription_id
        uow.session.add(cost_line(nl.id, contoso, "partner-center", "pc-3", dt.date(2026, 10, 3), dt.date(2026, 10, 9),
                              Decimal("12.00")))
    report = leakage_report(seeded, actor(seeded, "finn"), CLOCK, "2026-10", "2026-10")
    covered = {m.vendor.ref: sorted(b.first.isoformat() for b in m.billed) for m in report.matching.matched}
    assert sorted(covered.values()) == [["2026-09-10", "2026-10-05", "2026-10-05"], ["2026-10-10"]]
    assert report.matching.unbilled == ()  # September's leaked charge starts before the months asked for
    assert sorted(c.amount for c in report.matching.unbacked) == [Decimal("552")]  # only Fabrikam's October


def test_mrr_arr_movements_and_seats(seeded: Settings) -> None:
    report = mrr_report(seeded, actor(seeded, "finn"), CLOCK, "2026-09", "2026-10")
    assert [(e.month, e.mrr, e.arr, e.gained, e.lost, e.customers) for e in report.entities] == [
        ("2026-09", Decimal("901.60"), Decimal("10819.20"), Decimal(0), Decimal(0), 2),
        ("2026-10", Decimal("983.17"), Decimal("11798.04"), Decimal("81.57"), Decimal(0), 2)]
    assert [(m.customer, m.kind, m.change) for m in report.movements] == [(CONTOSO, "expansion", Decimal("81.57"))]
    assert report.seats == [("nl-bv", "Microsoft 365 Business Premium", "2026-09", 25),
                            ("nl-bv", "Microsoft 365 Business Premium", "2026-10", 25),
                            ("nl-bv", "Microsoft 365 E3", "2026-09", 10),
                            ("nl-bv", "Microsoft 365 E3", "2026-10", 12)]


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2026-13", "2026-10", "not a month"),
    ("2026-10", "2026-09", "after"),
    ("2020-01", "2026-10", "more than 36 months"),
])
def test_bad_months_are_refused_naming_the_field(seeded: Settings, first: str, last: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        margin_report(seeded, actor(seeded, "finn"), CLOCK, first, last)


def test_default_months_end_with_the_month_before_now(seeded: Settings) -> None:
    report = margin_report(seeded, actor(seeded, "finn"), CLOCK)
    assert report.scope.months == ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
