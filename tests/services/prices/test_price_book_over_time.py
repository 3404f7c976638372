"""Money that holds over time, on SQLite and PostgreSQL: invoiced periods keep the price-book edition they were
priced with (config edits, new files and late list prices change only what is not invoiced yet), an explicit reprice
corrects with its reason, a price change inside a period follows the tenant's policy, and "ERP price minus x %" is a
rule over Microsoft's list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.schema import PriceRule
from ledger.models import InvoiceLine
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.errors import NotAllowed
from services.operations import initialise
from services.prices import book_view, import_file, reprice
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mark_exported, snapshot, usage

CLOCK = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
APRIL = "nl-bv/1/1/2026-04-10..2026-05-09/charge/v1"
MAY = "nl-bv/1/1/2026-05-10..2026-06-09/charge/v1"


def lines(settings: Settings) -> dict[str, InvoiceLine]:
    with UnitOfWork(engine_for(settings)) as uow:
        return {row.line_key: row for row in uow.session.scalars(select(InvoiceLine))}


@pytest.fixture
def contoso(settings: Settings) -> int:
    """Contoso with 10 seats of a monthly licence since 2026-03-10 (cost 30.00, nl-bv markup 15% → 34.50)."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Contoso")
    subscription = add_subscription(settings, "nl-bv", customer, "sub-contoso", "2026-03-10")
    snapshot(settings, subscription, "2026-03-10", 10)
    return subscription


def exported_april(settings: Settings) -> dict[str, Decimal]:
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    mark_exported(settings, "nl-bv", "2026-04")
    return {key: line.amount for key, line in lines(settings).items()}


def edited(settings: Settings, percent: str) -> Settings:
    """The same config with every markup changed (what a person editing config.yaml does)."""
    rules = [PriceRule(**{**rule.model_dump(), "markup_percent": Decimal(percent)}) if rule.markup_percent is not None
             else rule for rule in settings.price_rules]
    return settings.model_copy(update={"price_rules": rules})


def test_editing_every_markup_after_export_corrects_nothing_that_was_invoiced(settings: Settings,
                                                                                contoso: int) -> None:
    usage(settings, "nl-bv", 1, contoso, "2026-03-20", "100.00")
    april = exported_april(settings)
    assert april[APRIL] == Decimal("345.00")
    later = edited(settings, "40")
    report = build_batch(later, "nl-bv", "2026-05", actor(later, "finn"), CLOCK)
    may = {key: line for key, line in lines(later).items() if key not in april}
    assert not [line for line in may.values() if line.kind == "correction"], report
    assert may[MAY].amount == Decimal("420.00")  # the new markup prices what was not invoiced: 10 × 30 × 1.40
    assert "price_rules[1]" in may[MAY].lineage["price_version"]
    again = build_batch(later, "nl-bv", "2026-05", actor(later, "finn"), CLOCK)
    assert (again.added, again.changed, again.removed) == (0, 0, 0)
    editions = [e for e in book_view(later, actor(later, "finn"))["editions"] if e["kind"] == "config"]
    assert len(editions) == 2  # the config's first rules and the edited ones, each once


def test_an_explicit_reprice_corrects_with_its_reason_and_both_versions(settings: Settings, contoso: int) -> None:
    exported_april(settings)
    later = edited(settings, "40")
    reprice(later, "nl-bv", dt.date(2026, 4, 1), "markup 40 % agreed from April", actor(later, "finn"), CLOCK)
    build_batch(later, "nl-bv", "2026-05", actor(later, "finn"), CLOCK)
    fix = lines(later)["nl-bv/1/1/2026-04-10..2026-05-09/charge/v2"]
    assert (fix.kind, fix.reason_code, fix.amount) == ("correction", "reprice", Decimal("75.00"))
    correction = fix.lineage["correction"]
    assert "markup 40 % agreed from April" in correction["reprice"]
    assert "+ 15% (price rule" in correction["old_price_version"]
    assert "+ 40% (price rule" in correction["new_price_version"]


def test_a_reprice_after_the_period_changes_nothing_and_the_desk_cannot_reprice(settings: Settings,
                                                                                 contoso: int) -> None:
    exported_april(settings)
    later = edited(settings, "40")
    # April's period began 04-10
    reprice(later, "nl-bv", dt.date(2026, 5, 1), "only from May", actor(later, "finn"), CLOCK)
    build_batch(later, "nl-bv", "2026-05", actor(later, "finn"), CLOCK)
    assert not [line for line in lines(later).values() if line.kind == "correction"]
    with pytest.raises(NotAllowed, match="lacks role 'finance'"):
        reprice(later, "nl-bv", dt.date(2026, 4, 1), "desk may not", actor(later, "dana"), CLOCK)


@pytest.mark.parametrize(("policy", "april", "may"), [
    ("next_cycle", {APRIL: "345.00"}, "330.00"),
    ("term", {APRIL: "345.00"}, "345.00"),
    ("prorated", {APRIL: "345.00", "nl-bv/1/1/2026-04-20..2026-05-09/credit/v1": "-230.00",
                  "nl-bv/1/1/2026-04-20..2026-05-09/charge/v1": "220.00"}, "330.00"),
])
def test_a_price_change_inside_a_period_follows_the_tenant_policy(settings: Settings, contoso: int, tmp_path: Path,
                                                                   policy: str, april: dict[str, str],
                                                                   may: str) -> None:
    """A fixed price of 33.00 from 2026-04-20 (inside the period 04-10..05-09): ``next_cycle`` charges it from the
    next period, ``term`` keeps the term's price until renewal (price protection), ``prorated`` credits and
    rebills from the 20th (20/30 of the period)."""
    nl = settings.tenant("nl-bv")
    rating = settings.rating_for(nl).model_copy(update={"price_change": policy})
    tenants = [t.model_copy(update={"rating": rating}) if t.code == "nl-bv" else t for t in settings.tenants]
    settings = settings.model_copy(update={"tenants": tenants})
    rules = tmp_path / "rules.csv"
    rules.write_text("name,tenant,product,valid_from,unit_price,currency\n"
                     "e3 list,nl-bv,CFQ7TTC0LH18:0001,2026-04-20,33.00,EUR\n")
    import_file(settings, rules, actor(settings, "finn"))
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    got = {key: line.amount for key, line in lines(settings).items()}
    assert got == {key: Decimal(amount) for key, amount in april.items()}
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), CLOCK)
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), CLOCK)
    assert lines(settings)[MAY].amount == Decimal(may)
    assert not [line for line in lines(settings).values() if line.kind == "correction"]


def test_erp_price_minus_a_percentage_is_a_rule_over_microsofts_list(settings: Settings, contoso: int,
                                                                        tmp_path: Path) -> None:
    price_list = tmp_path / "nce.csv"
    price_list.write_text(
        "ProductTitle,ProductId,SkuId,SkuTitle,Publisher,SkuDescription,UnitOfMeasure,TermDuration,BillingPlan,"
        "Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,EffectiveEndDate,Tags,"
        "ERP Price\n"
        "Microsoft 365 E3,CFQ7TTC0LH18,0001,Microsoft 365 E3,Microsoft Corporation,,,P1Y,Monthly,NL,EUR,30.00,,,"
        "1/1/2026 0:00,11/30/9999 23:59,License,40.00\n")
    rules = tmp_path / "rules.csv"
    rules.write_text("name,tenant,product,valid_from,markup_percent,basis\n"
                     "erp-5,nl-bv,CFQ7TTC0LH18:0001,2026-01-01,-5,erp\n")
    assert import_file(settings, price_list, actor(settings, "finn")).kind == "microsoft"
    assert import_file(settings, rules, actor(settings, "finn")).created
    assert not import_file(settings, rules, actor(settings, "finn")).created  # the same file twice is one edition
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), CLOCK)
    line = lines(settings)[APRIL]
    assert line.amount == Decimal("380.00")  # 10 × (40.00 − 5 %)
    assert line.lineage["price_version"].startswith("erp price 40 (list price 1) + -5% (price rule")
