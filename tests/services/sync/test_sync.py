"""The nightly sync against the real ledger (SQLite and PostgreSQL): mapping, snapshots on change, failures."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from config import Settings
from connectors.errors import MalformedRecord, SourceUnavailable
from connectors.records import PullResult
from ledger.models import CostLine, Customer, Discrepancy, Snapshot, Subscription, SyncRun, UsageRow
from services.clock import FixedClock
from services.errors import NotFound
from services.operations import initialise
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.identity import nightly
from tests.services.sync.test_sync_support import Vendor, cost_line, customer, licence, night, usage


@pytest.fixture
def ledger(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def count(settings: Settings, model: type) -> int:
    with UnitOfWork(engine_for(settings)) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


def run(settings: Settings, vendor: Vendor, when: dt.datetime, source: str | None = "pax8"):
    return sync(settings, FixedClock(when), who=nightly(settings), source=source, open_reader=vendor.open)


def test_first_night_maps_customers_subscriptions_and_snapshots(ledger: Settings) -> None:
    vendor = Vendor({"pax8": PullResult(
        customers=(customer("c1", reference="ERP-1"), customer("c2")),
        licences=(licence("s1", 10), licence("s2", 3, customer="c2"), licence("s3", 5, customer="c2")),
    )})
    report = run(ledger, vendor, night(1))
    (only,) = report.runs
    assert (only.source, only.status, only.error) == ("pax8", "succeeded", None)
    assert only.counts["subscriptions_created"] == 3
    assert only.counts["snapshots_stored"] == 3
    assert only.counts["customers_created"] == 2
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert (sub.term, sub.billing, sub.term_end, sub.status) == ("P1Y", "P1M", dt.date(2027, 3, 9), "active")
        assert uow.customers.get(sub.customer_id).reference == "ERP-1"
        snap = uow.snapshots.latest(sub.id)
        assert (snap.quantity, snap.observed_on, snap.sync_run_id) == (Decimal(10), dt.date(2026, 5, 1), only.run_id)
        assert snap.raw["payload"]["id"] == "s1"
        assert snap.raw["record"]["term_end"] == "2027-03-09"
        # c2 has licences and no reference: created, and flagged for the desk
        flagged = uow.session.scalars(select(Discrepancy)).all()
        assert [(d.kind, d.customer_id is not None) for d in flagged] == [("unmapped_customer", True)]
        assert "'Customer c2' (c2) matched no ledger customer" in flagged[0].sentence
        run_row = uow.session.get(SyncRun, only.run_id)
        assert (run_row.status, run_row.as_of, run_row.counts["subscriptions_seen"]) == ("succeeded", night(1), 3)


def test_rerunning_the_same_night_stores_nothing_new(ledger: Settings) -> None:
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10), licence("s2", 4)),
                                        cost_lines=(cost_line("L1", "281.00"),))})
    run(ledger, vendor, night(1))
    before = [count(ledger, m) for m in (Customer, Subscription, Snapshot, CostLine, Discrepancy)]
    again = run(ledger, vendor, night(1)).runs[0]
    assert [count(ledger, m) for m in (Customer, Subscription, Snapshot, CostLine, Discrepancy)] == before
    assert again.counts["snapshots_stored"] == 0
    assert again.counts["subscriptions_created"] == again.counts["subscriptions_updated"] == 0
    assert again.counts["cost_lines_inserted"] == again.counts["cost_lines_updated"] == 0
    assert count(ledger, SyncRun) == 2  # each run is recorded: the coverage of the night


def test_quantity_on_any_day_and_since_when(ledger: Settings) -> None:
    vendor = Vendor()
    nights = {1: 10, 2: 10, 3: 12, 4: 12, 5: 12, 6: 9, 7: 9}
    for day, seats in nights.items():
        vendor.answers["pax8"] = PullResult(licences=(licence("s1", seats),))
        run(ledger, vendor, night(day))
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert len(uow.snapshots.history(sub.id)) == 3
        answers = {d: uow.snapshots.quantity_on(sub.id, dt.date(2026, 5, d)) for d in (1, 2, 3, 5, 6, 30)}
    assert {d: (a.quantity, a.since.day) for d, a in answers.items()} == {
        1: (10, 1), 2: (10, 1), 3: (12, 3), 5: (12, 3), 6: (9, 6), 30: (9, 6)
    }


def test_descriptive_fields_follow_the_vendor_and_cancellation_sets_the_end(ledger: Settings) -> None:
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10),))})
    run(ledger, vendor, night(1))
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 10, status="cancelled", status_raw="Cancelled",
                                                          source_updated_at=dt.date(2026, 5, 4)),))
    report = run(ledger, vendor, night(5)).runs[0]
    assert (report.counts["subscriptions_updated"], report.counts["snapshots_stored"]) == (1, 1)
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert (sub.status, sub.end_date) == ("cancelled", dt.date(2026, 5, 3))


def test_a_malformed_record_is_reported_and_the_valid_ones_stored(ledger: Settings) -> None:
    bad = MalformedRecord("pax8", "s9", "quantity", "not a number: 'twelve'")
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10), licence("s2", 2)), errors=(bad,))})
    report = run(ledger, vendor, night(1)).runs[0]
    assert report.status == "partial"
    assert report.errors == ("pax8: record 's9': field 'quantity': not a number: 'twelve'",)
    assert count(ledger, Snapshot) == 2
    with UnitOfWork(engine_for(ledger)) as uow:
        row = uow.session.get(SyncRun, report.run_id)
        assert row.errors[0]["record_id"] == "s9" and row.counts["errors"] == 1


def test_a_record_id_that_is_not_text_is_stored_as_its_escape(ledger: Settings) -> None:
    """A vendor id decoded from a lone ``\\ud800`` escape has no UTF-8 form; the report of its record still stores
    (both databases), naming the record by its escape."""
    bad = MalformedRecord("pax8", "s\ud800", "name", "holds an unpaired UTF-16 surrogate escape")
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10),), errors=(bad,))})
    report = run(ledger, vendor, night(1)).runs[0]
    assert report.status == "partial" and count(ledger, Snapshot) == 1
    with UnitOfWork(engine_for(ledger)) as uow:
        assert uow.session.get(SyncRun, report.run_id).errors[0]["record_id"] == "s\\ud800"


def test_a_failing_source_is_recorded_and_the_others_complete(ledger: Settings) -> None:
    vendor = Vendor({
        "partner-center": SourceUnavailable("partner-center", "HTTP 500 after 5 retries on /v1/customers"),
        "pax8": PullResult(licences=(licence("s1", 10),)),
        "ingram": PullResult(licences=(licence("i1", 4, customer="k1"),)),
        "azure-costs": RuntimeError("connection reset in the middle of page 3"),
    })
    report = run(ledger, vendor, night(1), source=None)
    assert {r.source: r.status for r in report.runs} == {
        "partner-center": "failed", "azure-costs": "failed", "pax8": "succeeded", "ingram": "succeeded"
    }
    failed = {r.source: r.error for r in report.failed}
    assert failed["partner-center"] == "SourceUnavailable: partner-center: HTTP 500 after 5 retries on /v1/customers"
    assert failed["azure-costs"] == "RuntimeError: connection reset in the middle of page 3"
    with UnitOfWork(engine_for(ledger)) as uow:
        runs = {r.source: r for r in uow.sync_runs.recent()}
        assert runs["partner-center"].status == "failed" and runs["partner-center"].finished_at is not None
    assert count(ledger, Subscription) == 2


def test_a_crash_while_storing_leaves_no_half_stored_run(ledger: Settings) -> None:
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10),))})
    run(ledger, vendor, night(1))
    # the second night's pull is complete, but one record cannot be stored (a NOT NULL column): all or nothing
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 12), licence("s2", 3), licence("s3", 1,
                                                                                              product_id=None)))
    report = run(ledger, vendor, night(2)).runs[0]
    assert report.status == "failed" and "product_id" in report.error
    assert count(ledger, Subscription) == 1 and count(ledger, Snapshot) == 1
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s1")
        assert uow.snapshots.quantity_on(sub.id, dt.date(2026, 5, 2)).quantity == 10


def test_missing_is_not_cancelled(ledger: Settings) -> None:
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10), licence("s2", 2)))})
    run(ledger, vendor, night(1))
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 10),))
    report = run(ledger, vendor, night(2)).runs[0]
    assert report.counts["discrepancies_raised"] == 1
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s2")
        assert sub.status == "active" and sub.end_date is None
        (flag,) = uow.discrepancies.search([sub.tenant_id], kind="missing_at_vendor")
        assert flag.sentence == (f"pax8 no longer lists subscription s2 (sub {sub.id}) since 2026-05-02; "
                                 "last known state kept, not cancelled")
    assert run(ledger, vendor, night(2)).runs[0].counts.get("discrepancies_raised") == 0


def test_customers_match_by_reference_and_microsoft_tenant_across_sources(ledger: Settings) -> None:
    vendor = Vendor({
        "pax8": PullResult(customers=(customer("c1", reference="ERP-7", tenant_id="tid-1"),),
                           licences=(licence("s1", 10),)),
        "ingram": PullResult(licences=(licence("i1", 4, customer="k1", customer_reference="ERP-7"),
                                       licence("i2", 2, customer="k2", customer_tenant_id="tid-1"))),
    })
    run(ledger, vendor, night(1), source=None)
    with UnitOfWork(engine_for(ledger)) as uow:
        ids = {uow.subscriptions.by_external_id(src, ext).customer_id for src, ext in
               (("pax8", "s1"), ("ingram", "i1"), ("ingram", "i2"))}
    assert len(ids) == 1 and count(ledger, Customer) == 1


def test_a_customers_later_licence_supplies_its_reference_and_tenant(ledger: Settings) -> None:
    """A customer seen on many licences takes the first ERP reference and Microsoft tenant any of them names (the
    sync skips the licences that add nothing, not the ones that do)."""
    vendor = Vendor({"pax8": PullResult(licences=(
        licence("s1", 1, customer="c9"), licence("s2", 1, customer="c9", customer_reference="ERP-9"),
        licence("s3", 1, customer="c9", customer_tenant_id="tid-9"), licence("s4", 1, customer="c9"),
        licence("s5", 1, customer="c9", customer_reference="ERP-other", customer_tenant_id="tid-other"),
    ))})
    run(ledger, vendor, night(1))
    with UnitOfWork(engine_for(ledger)) as uow:
        sub = uow.subscriptions.by_external_id("pax8", "s4")
        assert uow.customers.get(sub.customer_id).reference == "ERP-9"
        assert uow.customers.external_id_map("entra") == {"tid-9": sub.customer_id}
    assert count(ledger, Customer) == 1 and count(ledger, Discrepancy) == 0


def test_usage_replaces_the_reread_window_and_cost_lines_upsert(ledger: Settings) -> None:
    d = dt.date
    vendor = Vendor(
        {"pax8": PullResult(licences=(licence("s1", 10),), cost_lines=(cost_line("L1", "281.00"),)),
         "azure-costs": PullResult(customers=(customer("c1"),),
                                   usage=(usage("u1", d(2026, 5, 1), "1.5"), usage("u2", d(2026, 5, 2), "2.25"),
                                          usage("u3", d(2026, 5, 3), "3")))},
        windows={"azure-costs": (d(2026, 4, 29), d(2026, 5, 3))},
    )
    run(ledger, vendor, night(4), source=None)
    # next night the source re-reads 05-01..05-04: u1 restated, u2 gone, u3 unchanged, u4 new
    vendor.answers["azure-costs"] = PullResult(customers=(customer("c1"),), usage=(
        usage("u1", d(2026, 5, 1), "1.75"), usage("u3", d(2026, 5, 3), "3"), usage("u4", d(2026, 5, 4), "4")))
    vendor.windows["azure-costs"] = (d(2026, 5, 1), d(2026, 5, 4))
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 10),), cost_lines=(cost_line("L1", "290.00"),
                                                                                   cost_line("L2", "5.00")))
    report = {r.source: r for r in run(ledger, vendor, night(5), source=None).runs}
    usage_counts = {k: v for k, v in report["azure-costs"].counts.items() if k.startswith("usage_")}
    assert usage_counts == {"usage_inserted": 1, "usage_updated": 1, "usage_removed": 1}
    assert (report["pax8"].counts["cost_lines_inserted"], report["pax8"].counts["cost_lines_updated"]) == (1, 1)
    with UnitOfWork(engine_for(ledger)) as uow:
        rows = uow.session.scalars(select(UsageRow).order_by(UsageRow.row_key)).all()
        assert [(r.row_key, r.cost) for r in rows] == [("u1", Decimal("1.75")), ("u3", 3), ("u4", 4)]
        assert rows[0].customer_id is not None and rows[0].tags == {"env": "Prod"}
        lines = uow.session.scalars(select(CostLine).order_by(CostLine.line_id)).all()
        assert [(c.line_id, c.subtotal, c.subscription_id is not None) for c in lines] == [
            ("L1", Decimal("290"), True), ("L2", Decimal("5"), True)]
        assert lines[0].raw == {"amount": "290.00"}


def test_unknown_source_is_a_one_line_error(ledger: Settings) -> None:
    with pytest.raises(NotFound, match=r"source 'nope': not in config\.yaml sources"):
        run(ledger, Vendor(), night(1), source="nope")


def test_the_sources_are_counted_as_they_finish_failed_ones_too(ledger: Settings) -> None:
    vendor = Vendor({"partner-center": SourceUnavailable("partner-center", "HTTP 500"),
                     "pax8": PullResult(licences=(licence("s1", 10),)), "ingram": PullResult(),
                     "azure-costs": PullResult()})
    counted: list[tuple[str, int, int]] = []
    sync(ledger, FixedClock(night(1)), who=nightly(ledger), open_reader=vendor.open,
         counted=lambda *step: counted.append(step))
    assert counted == [("sources", done, 4) for done in range(5)]


class CollectorProbe:
    """A vendor payload value that notes, when the sync writes it into the snapshot text, whether Python's cyclic
    garbage collector was running (``services.allocation``: a pull is mapped with it paused)."""

    def __init__(self) -> None:
        self.collector_running: list[bool] = []

    def __str__(self) -> str:
        self.collector_running.append(gc.isenabled())
        return "probe"


def test_a_pull_is_mapped_with_the_cyclic_collector_paused_and_restored_after(ledger: Settings) -> None:
    probe = CollectorProbe()
    vendor = Vendor({"pax8": PullResult(licences=(licence("s1", 10, raw={"id": "s1", "probe": probe}),))})
    assert gc.isenabled()
    assert run(ledger, vendor, night(1)).runs[0].counts["snapshots_stored"] == 1
    assert probe.collector_running == [False]
    assert gc.isenabled()
