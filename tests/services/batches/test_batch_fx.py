"""A licence priced in another currency than its legal entity's, built into a batch (SQLite and PostgreSQL): converted
onto the customer's normal invoice, the rate by the tenant's rule, a missing rate reported, never billed unconverted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import select

from config import Settings
from config.schema import RatingPolicy
from ledger.models import Invoice, InvoiceLine
from ledger.repositories.fx_rates import RateRow
from services.batches import build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mutation, snapshot

CLOCK = FixedClock(dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC))
RATES = {dt.date(2026, 10, 9): "1.0834", dt.date(2026, 10, 19): "1.0950", dt.date(2026, 10, 30): "1.1010"}


@pytest.fixture
def northwind(settings: Settings) -> tuple[int, int, int]:
    """Northwind (nl-bv, EUR) with a EUR licence and a USD licence (cost 20.00 USD, markup 15 % → 23.00 USD)."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Northwind")
    eur = add_subscription(settings, "nl-bv", customer, "sub-eur", "2026-10-10")
    snapshot(settings, eur, "2026-10-10", 2)
    usd = add_subscription(settings, "nl-bv", customer, "sub-usd", "2026-10-10", currency="USD")
    snapshot(settings, usd, "2026-10-10", 10, unit_cost="20.00", currency="USD")
    return customer, eur, usd


def record_rates(settings: Settings) -> None:
    with UnitOfWork(engine_for(settings), write=True) as uow:
        uow.fx_rates.store([RateRow("EUR", "USD", day, Decimal(rate), "ECB") for day, rate in RATES.items()])


def with_rule(settings: Settings, rule: str) -> Settings:
    return settings.model_copy(update={"rating": RatingPolicy(fx_rate_date=rule)})


def built(settings: Settings) -> list[Invoice]:
    with UnitOfWork(engine_for(settings)) as uow:
        found = uow.session.scalars(select(Invoice).order_by(Invoice.invoice_key)).all()
        for invoice in found:
            _ = invoice.lines
        return list(found)


def usd_lines(invoice: Invoice) -> list[InvoiceLine]:
    return sorted((line for line in invoice.lines if "fx" in line.lineage["details"]), key=lambda line: line.line_key)


def test_a_usd_licence_lands_converted_on_the_customers_eur_invoice(settings: Settings,
                                                                     northwind: tuple[int, int, int]) -> None:
    record_rates(settings)
    report = build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), CLOCK)
    assert report.problems == []
    (invoice,) = built(settings)
    assert (invoice.invoice_key, invoice.currency) == (f"nl-bv/2026-10/{northwind[0]}", "EUR")
    assert len(invoice.lines) == 2 and {line.currency for line in invoice.lines} == {"EUR"}
    (line,) = usd_lines(invoice)
    unrounded = 10 * Fraction("23.00") / Fraction("1.0834")  # charged 2026-10-10: 10-09's fixing
    assert line.amount == Decimal("212.29") and line.quantity == 10
    assert line.unit_price == Decimal("21.2294628023")  # 23.00 USD in EUR (10 decimals); the amount is exact
    assert abs(Decimal(unrounded.numerator) / Decimal(unrounded.denominator) - line.unrounded) < Decimal("1E-9")
    details = line.lineage["details"]
    assert details["fx"] == "USD->EUR 1/1.0834 (ECB, 2026-10-09)"
    assert (details["fx_currency"], details["fx_unit_price"], details["fx_rate"], details["fx_rate_date"],
            details["fx_source"]) == ("USD", "23", "1/1.0834", "2026-10-09", "ECB")
    assert line.lineage["formula"] == "10 × 23 × 31/31 × 1/1.0834"
    assert "10 × 23 USD at 1/1.0834" in line.description
    assert invoice.net == sum((row.amount for row in invoice.lines), Decimal(0))


def test_charge_date_and_invoice_date_rules(settings: Settings, northwind: tuple[int, int, int]) -> None:
    customer, _, usd = northwind
    record_rates(settings)
    mutation(settings, "nl-bv", customer, usd, "increase", "2026-10-19", new_quantity=14)
    snapshot(settings, usd, "2026-10-19", 14, unit_cost="20.00", currency="USD")
    by_charge_date = with_rule(settings, "charge_date")
    build_batch(by_charge_date, "nl-bv", "2026-10", actor(by_charge_date, "finn"), CLOCK)
    by_charge = [(line.kind, line.lineage["details"]["fx_rate_date"]) for line in usd_lines(built(settings)[0])]
    # the period charge at 10-10 (10-09's fixing); the wipe and recreate at 10-19: the credit at the rate of the
    # line it credits, the rebill at 10-19's
    assert sorted(by_charge) == [("charge", "2026-10-09"), ("charge", "2026-10-19"), ("credit", "2026-10-09")]
    by_invoice_date = with_rule(settings, "invoice_date")
    build_batch(by_invoice_date, "nl-bv", "2026-10", actor(by_invoice_date, "finn"), CLOCK)
    by_invoice = [line.lineage["details"]["fx"] for line in usd_lines(built(settings)[0])]
    assert by_invoice == ["USD->EUR 1/1.101 (ECB, 2026-10-30)"] * 3  # the ledger keeps 1.1010 as 1.101


def test_a_missing_rate_is_a_problem_naming_the_subscription_and_nothing_is_billed_unconverted(
        settings: Settings, northwind: tuple[int, int, int]) -> None:
    report = build_batch(settings, "nl-bv", "2026-10", actor(settings, "finn"), CLOCK)
    usd = northwind[2]
    assert report.problems == [
        f"subscription {usd} (CFQ7TTC0LH18:0001) currency USD: no USD->EUR exchange rate on or before 2026-10-10; "
        "run `cspbill fx sync` (--history for older days)"]
    (invoice,) = built(settings)
    assert [line.currency for line in invoice.lines] == ["EUR"] and usd_lines(invoice) == []
