"""Reconciliation of vendor, desk and billed views on the real ledger (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from config import Settings
from connectors.records import PullResult
from ledger.models import Batch, Invoice, InvoiceLine
from services.clock import FixedClock
from services.desk import MutationRequest, add_mutation, reconcile, resolve_discrepancy
from services.errors import NotFound
from services.runtime import engine_for
from services.sync import sync
from services.uow import UnitOfWork
from tests.cli import run_cli
from tests.conftest import demo_config_data
from tests.identity import actor, nightly, people_env
from tests.services.sync.test_sync_support import Vendor, cost_line, licence, night

UTC = dt.UTC
D = dt.date


def nights(settings: Settings, vendor: Vendor, plan: dict[int, dict[str, int]]) -> None:
    """Run the sync for each night with the seats per subscription the vendor shows that night."""
    for day, seats in plan.items():
        vendor.answers["pax8"] = PullResult(
            licences=tuple(licence(sub, n, term_start=D(2026, 4, 1), term_end=D(2027, 3, 31),
                                   customer_reference="ERP-1") for sub, n in seats.items()),
            cost_lines=(cost_line("L1", "281.00"),))
        sync(settings, FixedClock(night(day)), who=nightly(settings), source="pax8", open_reader=vendor.open)


def ids(settings: Settings) -> dict[str, int]:
    with UnitOfWork(engine_for(settings)) as uow:
        return {s.external_id: s.id for s in uow.subscriptions.by_source("pax8")}


def month(settings: Settings, day: int, user: str = "dana", every_subscription: bool = True):
    return reconcile(settings, actor(settings, user), FixedClock(dt.datetime(2026, 5, day, 9, tzinfo=UTC)),
                     month="2026-05", every_subscription=every_subscription)


def test_a_vendor_change_without_mutation_is_flagged_and_a_confirmed_one_is_not(ledger: Settings) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10, "s2": 5}})
    s = ids(ledger)
    add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s["s2"], D(2026, 5, 2), "T-1", delta=Decimal(2)),
                 FixedClock(dt.datetime(2026, 5, 2, 8, tzinfo=UTC)))
    nights(ledger, Vendor(), {3: {"s1": 14, "s2": 7}})
    report = month(ledger, 4)
    by_sub = {r.subscription_id: r for r in report.subscriptions}
    assert by_sub[s["s1"]].findings == (
        f"sub {s['s1']} (Example 365 E3): vendor shows 14 since 2026-05-03, no mutation",)
    assert by_sub[s["s2"]].findings == ()
    assert report.provisioned == 1 and report.raised == 1
    # the vendor showed 7 on the 3rd; the mutation confirming it dates the change (as the batch bills it)
    assert [(g.first.day, g.last.day, g.vendor, g.desk) for g in by_sub[s["s2"]].segments] == [
        (1, 1, 5, None), (2, 4, 7, 7)]
    again = month(ledger, 4)
    assert again.raised == 0 and len(again.discrepancies) == 1



def test_a_mutation_confirms_one_vendor_change_only(ledger: Settings) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10}})
    s1 = ids(ledger)["s1"]
    add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s1, D(2026, 5, 2), "T-1", new_quantity=Decimal(14)),
                 FixedClock(dt.datetime(2026, 5, 2, 8, tzinfo=UTC)))
    nights(ledger, Vendor(), {3: {"s1": 14}, 5: {"s1": 12}, 6: {"s1": 14}})
    (row,) = month(ledger, 7).subscriptions
    # the return to 14 on the 6th is a change of its own: the ticket of the 2nd was used by the 3rd
    assert row.findings == (f"sub {s1} (Example 365 E3): vendor shows 14 since 2026-05-06, no mutation "
                            "(2 changes without a mutation since 2026-05-05)",)
    assert [(g.first.day, g.last.day, g.vendor) for g in row.segments] == [(1, 1, 10), (2, 4, 14), (5, 5, 12),
                                                                           (6, 7, 14)]

def test_a_mutation_never_seen_at_the_vendor_is_flagged_after_two_days(ledger: Settings) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10}})
    s1 = ids(ledger)["s1"]
    saved = add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s1, D(2026, 5, 3), "T-5", delta=Decimal(4)),
                         FixedClock(dt.datetime(2026, 5, 3, 8, tzinfo=UTC)))
    assert month(ledger, 4).raised == 0  # one day: still waiting
    report = month(ledger, 5)
    (row,) = report.discrepancies
    assert (row.kind, row.sentence) == ("mutation_not_provisioned", (
        f"mutation {saved.id} of 2026-05-03 (increase to 14, ticket T-5) not provisioned after 2 days: vendor shows "
        "10"))
    later = month(ledger, 6)
    assert later.raised == 0
    assert later.discrepancies[0].sentence.endswith("not provisioned after 3 days: vendor shows 10")


def test_a_mutation_not_provisioned_is_one_finding_across_months(ledger: Settings) -> None:
    """The mutation is the cause, whatever month is reconciled: June's run meets May's row again (read with the
    month's findings in one query) instead of raising a second one."""
    nights(ledger, Vendor(), {1: {"s1": 10}})
    s1 = ids(ledger)["s1"]
    saved = add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s1, D(2026, 5, 20), "T-6", delta=Decimal(4)),
                         FixedClock(dt.datetime(2026, 5, 20, 8, tzinfo=UTC)))
    may = month(ledger, 25)
    (flag,) = may.discrepancies
    june = reconcile(ledger, actor(ledger, "dana"), FixedClock(dt.datetime(2026, 6, 3, 9, tzinfo=UTC)),
                     month="2026-06")
    assert (may.raised, june.raised, june.open_count) == (1, 0, 1)
    (again,) = june.discrepancies
    assert (again.id, again.kind) == (flag.id, "mutation_not_provisioned")
    assert again.sentence.startswith(f"mutation {saved.id} of 2026-05-20") and "after 14 days" in again.sentence


def _approved_line(settings: Settings, subscription_id: int, kind: str, quantity: int, amount: str,
                   first_day: int) -> None:
    """An approved May batch billing ``subscription_id`` one line from May ``first_day`` to the 31st."""
    with UnitOfWork(engine_for(settings), write=True) as uow:
        sub = uow.subscriptions.get(subscription_id)
        batch = Batch(tenant_id=sub.tenant_id, month="2026-05", built_by="finn")
        uow.session.add(batch)
        uow.session.flush()
        invoice = Invoice(batch_id=batch.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id,
                          invoice_key="k1", currency="EUR", net=Decimal(amount), vat=Decimal(0), gross=Decimal(amount))
        uow.session.add(invoice)
        uow.session.flush()
        uow.session.add(InvoiceLine(
            invoice_id=invoice.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id,
            subscription_id=subscription_id, line_key="l1", base_key="l1", kind=kind, description="E3",
            period_from=D(2026, 5, first_day), period_to=D(2026, 5, 31), quantity=Decimal(quantity),
            unit_price=Decimal("22.13"), amount=Decimal(amount), unrounded=Decimal(amount), currency="EUR",
            vat_rate=Decimal(19)))
        batch.status = "approved"  # only an approved or exported batch is billed


def test_billed_against_vendor_and_margin(ledger: Settings) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10}, 12: {"s1": 14}})
    s1 = ids(ledger)["s1"]
    _approved_line(ledger, s1, "charge", 12, "265.56", 1)
    report = month(ledger, 20)
    (row,) = report.subscriptions
    assert row.findings == (
        f"sub {s1} (Example 365 E3): vendor shows 14 since 2026-05-12, no mutation",
        f"sub {s1} (Example 365 E3): billed 12, vendor 10 from 2026-05-01 to 2026-05-11; billed 12, vendor 14 from "
        "2026-05-12 to 2026-05-20",
        f"sub {s1}: billed 265.56 EUR, vendor cost 281 EUR in 2026-05",
    )
    assert (row.vendor_cost, row.billed_amount, row.margin) == (Decimal(281), Decimal("265.56"), Decimal("-15.44"))


def test_a_credit_without_vendor_cost_lines_in_the_month_is_no_negative_margin(ledger: Settings) -> None:
    """Seats returned (or a cancellation whose refund the vendor dates from the term's start): the month's net is a
    credit, and the vendor has no cost line starting in the month. The cost is not known, so the margin is not
    judged, as on the batch page; a vendor cost line in the month would be compared."""
    vendor = Vendor()
    vendor.answers["pax8"] = PullResult(licences=(licence("s1", 8, term_start=D(2026, 4, 1), term_end=D(2027, 3, 31),
                                                          customer_reference="ERP-1"),))
    sync(ledger, FixedClock(night(1)), who=nightly(ledger), source="pax8", open_reader=vendor.open)
    s1 = ids(ledger)["s1"]
    _approved_line(ledger, s1, "credit", 2, "-50.00", 10)
    (row,) = month(ledger, 20).subscriptions
    assert not [finding for finding in row.findings if "vendor cost" in finding]
    assert (row.vendor_cost, row.billed_amount) == (Decimal(0), Decimal("-50.00"))


def test_resolving_keeps_the_finding_closed(ledger: Settings) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10}, 3: {"s1": 12}})
    (flag,) = month(ledger, 4).discrepancies
    with pytest.raises(NotFound):
        resolve_discrepancy(ledger, actor(ledger, "finn"), flag.id, "seen", FixedClock(night(4)))  # nl-bv only
    done = resolve_discrepancy(ledger, actor(ledger, "dana"), flag.id, "customer called, ticket T-9",
                               FixedClock(night(4)))
    assert (done.status, done.resolved_by, done.resolution_note) == ("resolved", "dana",
                                                                     "customer called, ticket T-9")
    again = month(ledger, 5)
    assert again.raised == 0 and again.discrepancies == ()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_json(ledger: Settings, tmp_path: Path) -> None:
    nights(ledger, Vendor(), {1: {"s1": 10}, 3: {"s1": 12}})
    config = tmp_path / "cli.yaml"
    data = demo_config_data()
    data["database"] = {"url": ledger.database_url(), "url_env": None}
    config.write_text(yaml.safe_dump(data))
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": "2026-05-04T09:00:00Z", **people_env(config)}
    done = run_cli(["reconcile", "--month", "2026-05", "--tenant", "de-gmbh", "--json"], env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    (sub,) = out["subscriptions"]
    assert (sub["vendor_cost"], sub["billed_amount"], sub["margin"]) == ("281", "0", "-281")
    assert [d["kind"] for d in out["discrepancies"]] == ["vendor_change_unexplained"]
    table = run_cli(["reconcile", "--month", "2026-05"], env=env)
    assert table.returncode == 0 and "vendor_change_unexpl" in table.stdout
    assert (out["checked"], out["open_discrepancies"]) == (1, 1)
    assert out["totals"] == [{"tenant": "de-gmbh", "currency": "EUR", "subscriptions": 1, "vendor_cost": "281",
                              "billed_amount": "0", "margin": "-281"}]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_lists_subscriptions_with_a_finding_unless_asked_for_all(ledger: Settings, tmp_path: Path) -> None:
    """At a million subscriptions a row per subscription is a million rows: the table lists the subscriptions with
    a finding of this run, and every one only with --all; the totals cover every subscription either way."""
    nights(ledger, Vendor(), {1: {"s1": 10, "s2": 5}, 3: {"s1": 12, "s2": 5}})
    s = ids(ledger)
    config = tmp_path / "cli.yaml"
    data = demo_config_data()
    data["database"] = {"url": ledger.database_url(), "url_env": None}
    config.write_text(yaml.safe_dump(data))
    env = {"CSPBILL_CONFIG": str(config), "CSPBILL_NOW": "2026-05-04T09:00:00Z", **people_env(config)}
    listed = {}
    for flags in ((), ("--all",)):
        done = run_cli(["reconcile", "--month", "2026-05", "--tenant", "de-gmbh", "--json", *flags], env=env)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        listed[flags] = sorted(sub["subscription_id"] for sub in out["subscriptions"])
        assert out["checked"] == 2 and out["totals"][0]["subscriptions"] == 2
    assert listed == {(): [s["s1"]], ("--all",): sorted(s.values())}
    table = run_cli(["reconcile", "--month", "2026-05", "--tenant", "de-gmbh"], env={**env, "COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "2 subscriptions compared" in table.stdout and "1 subscriptions with a finding" in table.stdout


def test_the_report_carries_the_newest_open_findings_and_counts_them_all(ledger: Settings,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The report holds OPEN_LISTED open findings at most (newest first) and says how many are open in all, so a
    book with fifty thousand findings is not printed in one table; the findings list pages the rest."""
    nights(ledger, Vendor(), {1: {"s1": 10, "s2": 5, "s3": 3}, 3: {"s1": 12, "s2": 6, "s3": 4}})
    monkeypatch.setattr(importlib.import_module("services.desk.reconcile"), "OPEN_LISTED", 2)
    report = month(ledger, 4, every_subscription=False)
    assert (report.raised, report.open_count, len(report.discrepancies)) == (3, 3, 2)
    assert len(report.subscriptions) == 3 and report.checked == 3


def test_a_one_time_purchase_and_its_refund_are_not_compared_per_seat_day(ledger: Settings) -> None:
    vendor = Vendor()
    for day, status in ((1, "active"), (12, "cancelled")):
        vendor.answers["pax8"] = PullResult(licences=(licence(
            "ot1", 1, billing_frequency="ONE_TIME", billing_type="one_time", commitment_term=None, status=status,
            status_raw=status.title(), term_start=D(2026, 5, 8), term_end=None, customer_reference="ERP-1"),))
        sync(ledger, FixedClock(night(day)), who=nightly(ledger), source="pax8", open_reader=vendor.open)
    ot1 = ids(ledger)["ot1"]
    with UnitOfWork(engine_for(ledger), write=True) as uow:
        sub = uow.subscriptions.get(ot1)
        batch = Batch(tenant_id=sub.tenant_id, month="2026-05", built_by="greta")
        uow.session.add(batch)
        uow.session.flush()
        invoice = Invoice(batch_id=batch.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id,
                          invoice_key="k1", currency="EUR", net=Decimal(0), vat=Decimal(0), gross=Decimal(0))
        uow.session.add(invoice)
        uow.session.flush()
        for key, kind, until, amount in (("p", "charge", 8, "100.30"), ("r", "credit", 9, "-100.30")):
            uow.session.add(InvoiceLine(
                invoice_id=invoice.id, tenant_id=sub.tenant_id, customer_id=sub.customer_id, subscription_id=ot1,
                line_key=key, base_key=key, kind=kind, description="Windows 11 Pro Upgrade",
                period_from=D(2026, 5, 8), period_to=D(2026, 5, until), quantity=Decimal(1),
                unit_price=Decimal(amount), amount=Decimal(amount), unrounded=Decimal(amount), currency="EUR",
                vat_rate=Decimal(19)))
        batch.status = "exported"  # only an approved or exported batch is billed
    (row,) = month(ledger, 20).subscriptions
    assert not any("billed" in finding for finding in row.findings), row.findings


@pytest.mark.parametrize(("auto_renew", "ended_on", "flagged"), [
    (False, 10, False),  # the term the vendor said would not renew ran out on the 9th: explained by the term
    (False, 6, True),  # ended before its term did: someone cancelled it
    (True, 10, True),  # a renewing term that ends anyway
])
def test_a_term_that_runs_out_without_renewal_needs_no_mutation(ledger: Settings, auto_renew: bool, ended_on: int,
                                                               flagged: bool) -> None:
    for day in (1, ended_on):
        status = "cancelled" if day == ended_on else "active"
        vendor = Vendor()
        vendor.answers["pax8"] = PullResult(licences=(licence(
            "s1", 3, term_start=D(2026, 4, 10), term_end=D(2026, 5, 9), commitment_term="P1M", auto_renew=auto_renew,
            status=status, status_raw=status.title(), customer_reference="ERP-1"),))
        sync(ledger, FixedClock(night(day)), who=nightly(ledger), source="pax8", open_reader=vendor.open)
    report = month(ledger, 12)
    assert [d.kind for d in report.discrepancies] == (["vendor_change_unexplained"] if flagged else [])


def test_reconciliation_read_in_ranges_of_customers_equals_one_read(ledger: Settings) -> None:
    """``compute.partition_customers`` bounds what reconciliation holds at once, as it bounds a build: with one
    customer per range, every subscription, finding, confirmed and withdrawn mutation is the same as read at once."""
    vendor = Vendor()

    def pull(day: int, seats: dict[str, int]) -> None:
        vendor.answers["pax8"] = PullResult(licences=tuple(
            licence(sub, n, customer=f"c{sub[-1]}", customer_reference=f"ERP-{sub[-1]}", term_start=D(2026, 4, 1),
                    term_end=D(2027, 3, 31))
            for sub, n in seats.items()))
        sync(ledger, FixedClock(night(day)), who=nightly(ledger), source="pax8", open_reader=vendor.open)

    pull(1, {"s1": 10, "s2": 5, "s3": 3})
    s = ids(ledger)
    clock = FixedClock(dt.datetime(2026, 5, 2, 8, tzinfo=UTC))
    add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s["s2"], D(2026, 5, 2), "T-2", delta=Decimal(2)), clock)
    add_mutation(ledger, actor(ledger, "dana"), MutationRequest(s["s3"], D(2026, 5, 2), "T-3", delta=Decimal(1)), clock)
    pull(3, {"s1": 14, "s2": 7, "s3": 3})

    def report(partition: int) -> tuple:
        settings = ledger.model_copy(update={"compute": ledger.compute.model_copy(
            update={"partition_customers": partition})})
        found = reconcile(settings, actor(settings, "dana"), FixedClock(dt.datetime(2026, 5, 6, 9, tzinfo=UTC)),
                          month="2026-05", every_subscription=True)
        return ({r.subscription_id: (r.customer, r.segments, r.findings) for r in found.subscriptions},
                sorted((d.kind, d.sentence, d.status) for d in found.discrepancies))

    in_ranges = report(1)
    assert len(in_ranges[0]) == 3 and {customer for customer, _, _ in in_ranges[0].values()} == {
        "Customer c1", "Customer c2", "Customer c3"}
    assert [kind for kind, _, _ in in_ranges[1]] == ["mutation_not_provisioned", "vendor_change_unexplained"]
    assert report(50_000) == in_ranges


def test_cost_lines_of_more_subscriptions_than_a_statement_takes_parameters(ledger: Settings) -> None:
    """PostgreSQL's protocol takes at most 65,535 parameters per statement: reconciliation of a legal entity with
    more active subscriptions asks for their cost lines in chunks."""
    with UnitOfWork(engine_for(ledger)) as uow:
        assert uow.cost_lines.for_subscriptions(list(range(1, 70_001)), D(2026, 5, 1), D(2026, 5, 31)) == []
