"""The review's SQL aggregates are exact on SQLite and PostgreSQL: amounts whose float sum is wrong (0.1 + 0.2) sum
to the exact Decimal, changes are found and ranked by their exact size, and an amount finer than any currency's
minor unit is refused rather than cut."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from config import Settings
from ledger.models import Batch, BatchChange, Customer, FxRate, Invoice, InvoiceLine, Tenant
from ledger.repositories.sums import InexactAmount, amount, decimals, units
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork

MONEY = st.decimals(min_value=Decimal("-99999999999.9999"), max_value=Decimal("99999999999.9999"), places=4,
                    allow_nan=False, allow_infinity=False)


@pytest.fixture
def engine(settings: Settings):
    initialise(settings)
    return engine_for(settings)


def _sum_rates(engine, values: list[Decimal]) -> Decimal | None:
    with UnitOfWork(engine, write=True) as uow:
        uow.session.execute(delete(FxRate))
        if values:
            uow.session.execute(insert(FxRate), [{"base": "USD", "quote": "EUR", "rate_date": dt.date(2026, 1, 1)
                                                  + dt.timedelta(days=i), "rate": value, "source": "test"}
                                                 for i, value in enumerate(values)])
    with UnitOfWork(engine) as uow:
        total, places = uow.session.execute(select(func.sum(units(uow.session, FxRate.rate)),
                                                   func.max(decimals(uow.session, FxRate.rate)))).one()
        return amount(total, places, "fx rates")


@pytest.mark.parametrize(("values", "expected"), [
    (["0.1", "0.2"], "0.3"),
    (["0.1"] * 10, "1"),
    (["-0.5", "0.25", "100"], "99.75"),
    (["1234567890.12", "0.01", "-0.0001"], "1234567890.1299"),
    (["-0.1", "-0.2"], "-0.3"),
    (["7"], "7"),
])
def test_sums_are_exact_where_float_is_not(engine, values: list[str], expected: str) -> None:
    assert _sum_rates(engine, [Decimal(v) for v in values]) == Decimal(expected)


def test_no_rows_sum_to_none(engine) -> None:
    assert _sum_rates(engine, []) is None


@hypothesis_settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(MONEY, min_size=1, max_size=12))
def test_sum_equals_the_decimal_sum(engine, values: list[Decimal]) -> None:
    assert _sum_rates(engine, values) == sum(values, Decimal(0))


def test_an_amount_finer_than_any_minor_unit_is_refused(engine) -> None:
    with pytest.raises(InexactAmount, match="fx rates: an amount has 5 decimals"):
        _sum_rates(engine, [Decimal("0.1"), Decimal("0.00001")])


def _seed(engine, lines: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    """Two batches (``2026-04`` and ``2026-05``) with one invoice per customer holding the given line amounts;
    returns the batch ids by month and the customer ids by name."""
    ids: dict[str, int] = {}
    with UnitOfWork(engine, write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        for month, amounts in lines.items():
            batch = Batch(tenant_id=tenant_id, month=month, built_by="finn", built_at=dt.datetime(2026, 6, 1,
                                                                                                    tzinfo=dt.UTC))
            session.add(batch)
            session.flush()
            ids[month] = batch.id
            for n, (name, value) in enumerate(amounts):
                if name not in ids:
                    ids[name] = session.scalar(insert(Customer).returning(Customer.id).values(
                        tenant_id=tenant_id, name=name, country="NL", is_business=True))
                parts = [Decimal(part) for part in value.split("+")]
                invoice_id = session.scalar(insert(Invoice).returning(Invoice.id).values(
                    batch_id=batch.id, tenant_id=tenant_id, customer_id=ids[name], invoice_key=f"{month}/{name}/{n}",
                    currency="EUR", net=sum(parts), vat=Decimal(0), gross=sum(parts)))
                session.execute(insert(InvoiceLine), [
                    {"invoice_id": invoice_id, "tenant_id": tenant_id, "customer_id": ids[name],
                     "line_key": f"{month}/{name}/{n}/{i}", "base_key": f"{month}/{name}/{n}/{i}", "kind": "charge",
                     "description": "seats", "quantity": Decimal(1), "unit_price": part, "amount": part,
                     "unrounded": part, "currency": "EUR", "vat_rate": Decimal(0), "bill_month": month}
                    for i, part in enumerate(parts)])
    return ids


def test_changes_are_exact_ranked_and_counted(engine) -> None:
    ids = _seed(engine, {"2026-04": [("Acme", "0.3"), ("Beta", "10"), ("Gone", "5"), ("Same", "1.1")],
                         "2026-05": [("Acme", "0.1+0.2"), ("Beta", "10.01+-0.02"), ("New", "0.1+0.1+0.1"),
                                     ("Same", "1+0.1"), ("Same", "0")]})
    with UnitOfWork(engine) as uow:
        found, total = uow.review.changes(ids["2026-05"], ids["2026-04"], "customer")
        top, counted = uow.review.changes(ids["2026-05"], ids["2026-04"], "customer", limit=2)
        totals = {t.name: t for t in uow.review.customer_totals(ids["2026-05"])}
    assert total == counted == 3  # Acme's 0.1 + 0.2 equals last month's 0.3: unchanged
    assert {(c.name, c.now, c.before) for c in found} == {
        ("Beta", Decimal("9.99"), Decimal("10")), ("Gone", None, Decimal("5")), ("New", Decimal("0.3"), None)}
    assert [c.name for c in top] == ["Gone", "New"]  # 5 and 0.3 before Beta's 0.01
    assert (totals["Acme"].net, totals["Same"].invoices, totals["Same"].gross) == (Decimal("0.3"), 2, Decimal("1.1"))


def test_stored_changes_equal_the_live_ones_and_refuse_an_inexact_amount(engine) -> None:
    ids = _seed(engine, {"2026-04": [("Acme", "0.3"), ("Beta", "10"), ("Gone", "5")],
                         "2026-05": [("Acme", "0.1+0.2"), ("Beta", "10.01+-0.02"), ("New", "0.1+0.1+0.1")]})
    may, april = ids["2026-05"], ids["2026-04"]
    with UnitOfWork(engine, write=True) as uow:
        counts = uow.review.store_changes(may, april, 1000)
        stored = uow.review.stored_changes(may, "customer", 10)
        live, total = uow.review.changes(may, april, "customer", limit=10)
    assert counts["customer"] == total == 3
    assert stored == live
    _seed(engine, {"2026-06": [("Acme", "0.00001")]})
    with UnitOfWork(engine, write=True) as uow, pytest.raises(InexactAmount, match="an amount has 5 decimals"):
        june = uow.session.scalar(select(Batch.id).where(Batch.month == "2026-06"))
        uow.review.store_changes(june, may, 1000)


@pytest.mark.parametrize(("keep", "kept"), [(1, {"Gone", "Tied"}), (2, {"Gone", "Tied"}), (3, {"Gone", "Tied", "New"})])
def test_stored_changes_keep_the_largest_with_the_ties_at_the_cut(engine, keep: int, kept: set[str]) -> None:
    ids = _seed(engine, {"2026-04": [("Beta", "10"), ("Gone", "5"), ("Tied", "1")],
                         "2026-05": [("Beta", "10.01"), ("New", "0.3"), ("Tied", "6")]})
    may, april = ids["2026-05"], ids["2026-04"]
    with UnitOfWork(engine, write=True) as uow:
        counts = uow.review.store_changes(may, april, keep)
        stored = uow.review.stored_changes(may, "customer", keep)
        live, _ = uow.review.changes(may, april, "customer", limit=keep)
    assert counts["customer"] == 4
    assert stored == live and {change.name for change in stored} <= kept
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(BatchChange)
                                  .where(BatchChange.batch_id == may, BatchChange.per == "customer")) == len(kept)
