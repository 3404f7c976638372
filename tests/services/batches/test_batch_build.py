"""Building a month's draft batch from the ledger, on SQLite and PostgreSQL: idempotent rebuilds, who-wins rules,
corrections for exported months, totals and VAT."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select, text, update

from config import Settings
from ledger.models import Invoice, InvoiceLine
from services.batches import approve_batch, build_batch, explain_line
from services.clock import FixedClock
from services.errors import NotAllowed
from services.operations import initialise
from services.prices import import_file, reprice
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import (
    add_customer,
    add_subscription,
    mark_exported,
    mutation,
    snapshot,
    usage,
)

CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))


def lines(settings: Settings, month: str | None = None) -> dict[str, InvoiceLine]:
    with UnitOfWork(engine_for(settings)) as uow:
        query = select(InvoiceLine).order_by(InvoiceLine.line_key)
        rows = uow.session.scalars(query).all()
        if month is not None:
            rows = [r for r in rows if r.line_key and uow.batches.get(r.invoice.batch_id).month == month]
        return {row.line_key: row for row in rows}


def invoices(settings: Settings) -> list[Invoice]:
    with UnitOfWork(engine_for(settings)) as uow:
        found = uow.session.scalars(select(Invoice).order_by(Invoice.invoice_key)).all()
        for invoice in found:
            _ = invoice.lines
        return list(found)


@pytest.fixture
def contoso(settings: Settings) -> tuple[int, int]:
    """Contoso with 10 seats of a monthly licence since 2026-03-10 (cost 30.00, nl-bv markup 15% → 34.50)."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Contoso")
    subscription = add_subscription(settings, "nl-bv", customer, "sub-contoso", "2026-03-10")
    snapshot(settings, subscription, "2026-03-10", 10)
    return customer, subscription


def test_building_twice_yields_the_same_batch(settings: Settings, contoso: tuple[int, int]) -> None:
    first = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    before = {key: (line.id, line.amount) for key, line in lines(settings).items()}
    second = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    after = {key: (line.id, line.amount) for key, line in lines(settings).items()}
    assert (first.created, second.created) == (True, False)
    assert (second.added, second.changed, second.removed) == (0, 0, 0)
    assert before == after
    assert list(after) == ["nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"]
    assert after["nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"][1] == Decimal("345.00")
    assert first.batch_id == second.batch_id and first.totals == second.totals


def test_a_rebuild_rewrites_a_line_that_differs_and_only_that(settings: Settings, contoso: tuple[int, int]) -> None:
    """A stored line whose lineage another serialiser wrote (other spacing, keys in another order) is the same
    line; one whose description differs is written again as the build wants it."""
    finn = actor(settings, "finn")
    build_batch(settings, "nl-bv", "2026-04", finn, CLOCK)
    key = "nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"
    wanted = lines(settings)[key]
    respaced = json.dumps(dict(reversed(wanted.lineage.items())), separators=(",", ":"))
    with UnitOfWork(engine_for(settings), write=True) as uow:
        as_json = "CAST(:text AS JSONB)" if uow.session.get_bind().dialect.name == "postgresql" else ":text"
        uow.session.execute(text(f"UPDATE invoice_lines SET lineage = {as_json} WHERE line_key = :key"),
                            {"text": respaced, "key": key})
    assert (build_batch(settings, "nl-bv", "2026-04", finn, CLOCK).changed, lines(settings)[key].lineage) == (
        0, wanted.lineage)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.session.execute(update(InvoiceLine).where(InvoiceLine.line_key == key).values(description="edited"))
    assert build_batch(settings, "nl-bv", "2026-04", finn, CLOCK).changed == 1
    assert (lines(settings)[key].description, lines(settings)[key].lineage) == (wanted.description, wanted.lineage)


def test_rebuild_after_new_data_only_adds_changes_or_removes(settings: Settings, contoso: tuple[int, int]) -> None:
    _, subscription = contoso
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    charge_id = lines(settings)["nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"].id
    snapshot(settings, subscription, "2026-04-20", 12)  # no mutation: billed from the first day seen
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    now = lines(settings)
    assert (report.added, report.changed, report.removed) == (2, 0, 0)
    assert now["nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"].id == charge_id
    assert now["nl-bv/1/1/2026-04-20..2026-05-09/credit/v1"].amount == Decimal("-230.00")  # -10 × 34.5 × 20/30
    assert now["nl-bv/1/1/2026-04-20..2026-05-09/charge/v1"].amount == Decimal("276.00")  # 12 × 34.5 × 20/30
    with UnitOfWork(engine_for(settings)) as uow:
        batch = uow.batches.for_month(uow.tenants.by_code("nl-bv").id, "2026-04")
        assert (batch.built_by, batch.changed_by, batch.revision) == ("finn", "anna", 2)
        actions = [e.action for e in uow.audit.list(action=None) if e.entity == "batch"]
        assert actions == ["batch.rebuild", "batch.build"]


def test_mutation_supplies_the_date_and_an_unprovisioned_mutation_is_not_billed(
        settings: Settings, contoso: tuple[int, int]) -> None:
    customer, subscription = contoso
    mutation(settings, "nl-bv", customer, subscription, "increase", "2026-04-15", new_quantity=12)
    snapshot(settings, subscription, "2026-04-17", 12)  # the vendor shows it two days later
    mutation(settings, "nl-bv", customer, subscription, "increase", "2026-04-25", new_quantity=20)  # never seen
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    got = lines(settings)
    assert sorted(got) == [
        "nl-bv/1/1/2026-04-10..2026-05-09/charge/v1",
        "nl-bv/1/1/2026-04-15..2026-05-09/charge/v1",
        "nl-bv/1/1/2026-04-15..2026-05-09/credit/v1",
    ]
    rebill = got["nl-bv/1/1/2026-04-15..2026-05-09/charge/v1"]
    assert rebill.quantity == 12
    assert "mutation:1" in rebill.lineage["input_ids"]


def test_late_seat_change_for_an_exported_month_becomes_a_correction_next_month(
        settings: Settings, contoso: tuple[int, int]) -> None:
    customer, subscription = contoso
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    mark_exported(settings, "nl-bv", "2026-04")
    exported = {key: (line.amount, line.version) for key, line in lines(settings).items()}
    # Synced late: the seat change of April 20 is only seen on May 2, confirmed by the desk's mutation.
    mutation(settings, "nl-bv", customer, subscription, "increase", "2026-04-20", new_quantity=12)
    snapshot(settings, subscription, "2026-05-02", 12)
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    may = lines(settings, "2026-05")
    april_charge = "nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"
    corrections = {k: v for k, v in may.items() if v.kind == "correction"}
    assert {v.reason_code for v in corrections.values()} == {"late_snapshot"}
    assert {v.corrects_line_key for v in corrections.values()} == {april_charge}
    assert sum(v.amount for v in corrections.values()) == Decimal("46.00")  # 2 seats × 34.5 × 20/30
    assert all(v.bill_month == "2026-04" for v in corrections.values())
    assert may["nl-bv/1/1/2026-05-10..2026-06-09/charge/v1"].amount == Decimal("414.00")
    assert {k: (v.amount, v.version) for k, v in lines(settings, "2026-04").items()} == exported
    again = build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)


def test_a_price_file_after_approval_changes_nothing_invoiced_until_finance_reprices(
        settings: Settings, contoso: tuple[int, int], tmp_path) -> None:
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    rules = tmp_path / "rules.csv"  # a fixed price arrives for the whole term, after April was approved
    rules.write_text("tenant,product,valid_from,unit_price,currency\nnl-bv,CFQ7TTC0LH18:0001,2026-01-01,33.00,EUR\n")
    import_file(settings, rules, actor(settings, "finn"))
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    may = lines(settings, "2026-05")
    assert not [line for line in may.values() if line.kind == "correction"]
    assert may["nl-bv/1/1/2026-05-10..2026-06-09/charge/v1"].unit_price == Decimal("33.00")

    reprice(settings, "nl-bv", dt.date(2026, 4, 1), "contract price agreed in March", actor(settings, "finn"))
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    may = lines(settings, "2026-05")
    fix = may["nl-bv/1/1/2026-04-10..2026-05-09/charge/v2"]
    assert (fix.amount, fix.reason_code) == (Decimal("-15.00"), "reprice")
    assert fix.corrects_line_key == "nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"
    correction = explain_line(settings, fix.line_key, actor(settings, "finn"))["lineage"]["correction"]
    assert correction["billed"] == "345"
    assert "contract price agreed in March" in correction["reprice"]
    assert correction["old_price_version"] == "cost 30 (snapshot 1) + 15% (price rule 2 (price_rules[1]))"
    assert correction["new_price_version"] == "price rule 4 fixed 33"


def test_usage_is_billed_in_arrears_and_late_usage_is_corrected(settings: Settings,
                                                                  contoso: tuple[int, int]) -> None:
    customer, subscription = contoso
    usage(settings, "nl-bv", customer, subscription, "2026-04-03", "10.00", row_key="r1")
    usage(settings, "nl-bv", customer, subscription, "2026-04-04", "10.00", category="Virtual Machines",
          meter="vm", row_key="r2")
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), CLOCK)
    may = lines(settings, "2026-05")
    assert may["nl-bv/1/1/2026-04-01..2026-04-30/usage:m-1/v1"].amount == Decimal("11.50")  # 15% markup
    assert may["nl-bv/1/1/2026-04-01..2026-04-30/usage:vm/v1"].amount == Decimal("11.20")  # VM rule: 12%
    usage(settings, "nl-bv", customer, subscription, "2026-04-30", "2.00", row_key="r3")  # restated late
    build_batch(settings, "nl-bv", "2026-06", actor(settings, "finn"), CLOCK)
    fix = lines(settings, "2026-06")["nl-bv/1/1/2026-04-01..2026-04-30/usage:m-1/v2"]
    assert (fix.amount, fix.reason_code) == (Decimal("2.30"), "late_usage")


def test_totals_equal_the_sum_of_lines_and_vat_per_invoice_per_rate(settings: Settings,
                                                                     contoso: tuple[int, int]) -> None:
    abroad = add_customer(settings, "nl-bv", "Fabrikam GmbH", country="DE", vat_id="DE136695976")  # passes its checksum
    for n, seats in enumerate((3, 7)):
        sub = add_subscription(settings, "nl-bv", abroad, f"sub-fab-{n}", "2026-04-01", anchor="2026-04-01")
        snapshot(settings, sub, "2026-04-01", seats, unit_cost="11.11")
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    found = invoices(settings)
    assert len(found) == 2
    for invoice in found:
        assert invoice.net == sum(line.amount for line in invoice.lines)
        for part in invoice.vat_breakdown:
            taxable = sum(line.amount for line in invoice.lines if str(line.vat_rate) == part["rate"])
            assert Decimal(part["taxable"]) == taxable
            expected = (taxable * Decimal(part["rate"]) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            assert Decimal(part["vat"]) == expected
        assert invoice.vat == sum(Decimal(part["vat"]) for part in invoice.vat_breakdown)
        assert invoice.gross == invoice.net + invoice.vat
    fabrikam = next(i for i in found if i.customer_id == abroad)
    assert [p["category"] for p in fabrikam.vat_breakdown] == ["AE"] and fabrikam.vat == 0
    totals = report.totals["EUR"]
    assert Decimal(totals["net"]) == sum(i.net for i in found)
    assert Decimal(totals["vat"]) == sum(i.vat for i in found)
    assert totals["by_rate"]["S 21%"]["vat"] == "72.45"  # 345.00 × 21%


def test_an_approved_batch_is_never_rebuilt(settings: Settings, contoso: tuple[int, int]) -> None:
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    with pytest.raises(NotAllowed, match="status: approved"):
        build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    with pytest.raises(NotAllowed, match="later batch 2026-04"):
        build_batch(settings, "nl-bv", "2026-03", actor(settings, "finn"), CLOCK)


def test_months_are_built_in_order_but_an_earlier_draft_can_be_rebuilt(settings: Settings,
                                                                        contoso: tuple[int, int]) -> None:
    _, subscription = contoso
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    build_batch(settings, "nl-bv", "2026-06", actor(settings, "finn"), CLOCK)
    with pytest.raises(NotAllowed, match="later batch 2026-06 is already draft"):
        build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    snapshot(settings, subscription, "2026-04-20", 11)
    # April's own lines: no clash with June
    report = build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    assert (report.added, report.removed) == (2, 0)
    june = build_batch(settings, "nl-bv", "2026-06", actor(settings, "finn"), CLOCK)
    # April's credit and rebill stay April's; June (which also catches up May, a month without a batch) now
    # charges 11 seats for the periods starting 05-10 and 06-10: two lines change, none is added or removed.
    assert (june.added, june.changed, june.removed) == (0, 2, 0)
    assert {line.quantity for key, line in lines(settings, "2026-06").items()} == {11}
