"""A batch's invoices paged by key, on SQLite and PostgreSQL: walking every page forwards (``after``) and backwards
from the last page (``before=""``) gives every invoice of the batch exactly once, in invoice-key order, with the
right "more before / more after" flags at every page size; another batch's invoices (whose keys interleave) never
show; a key past either end gives an empty page that links back; and on SQLite the page is read through the
``(batch_id, invoice_key)`` index, not sorted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select

from config import Settings
from ledger.models import Batch, Customer, Invoice, Tenant
from services.batches import batch_invoices
from services.errors import NotFound
from services.operations import initialise
from services.paging import FIRST, LAST, KeyPage
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor

INVOICES = 23  # in May; April's keys interleave with May's


def _key(n: int, month: str) -> str:
    return f"nl-bv/{n:03d}/{month}"  # May's invoice n sorts between April's n and n + 1


@pytest.fixture
def batches(settings: Settings) -> dict[str, int]:
    """An April and a May batch of nl-bv: invoice n of May for customer n, keys inserted out of order."""
    initialise(settings)
    ids: dict[str, int] = {}
    with UnitOfWork(engine_for(settings), write=True) as uow:
        session = uow.session
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "nl-bv"))
        customers = [session.scalar(insert(Customer).returning(Customer.id).values(
            tenant_id=tenant_id, name=f"Customer {n}", country="NL", is_business=True)) for n in range(INVOICES + 1)]
        for month in ("2026-04", "2026-05"):
            ids[month] = session.scalar(insert(Batch).returning(Batch.id).values(
                tenant_id=tenant_id, month=month, built_by="finn", built_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)))
            numbers = range(INVOICES + 1) if month == "2026-04" else range(INVOICES)
            session.execute(insert(Invoice), [
                {"batch_id": ids[month], "tenant_id": tenant_id, "customer_id": customers[n],
                 "invoice_key": _key(n, month), "currency": "EUR", "net": Decimal(n), "vat": Decimal(0),
                 "gross": Decimal(n)}
                for n in sorted(numbers, key=lambda n: (n * 7) % (INVOICES + 1))])
    return ids


def _keys(page: KeyPage) -> list[str]:
    return [item["invoice_key"] for item in page.items]


MAY = [_key(n, "2026-05") for n in range(INVOICES)]


@pytest.mark.parametrize("per_page", [1, 5, INVOICES, 50])
def test_every_invoice_once_in_key_order_forwards_and_backwards(settings: Settings, batches: dict[str, int],
                                                                per_page: int) -> None:
    finn, may = actor(settings, "finn"), batches["2026-05"]
    pages = [batch_invoices(settings, may, finn, per_page=per_page)]
    while pages[-1].has_next:
        pages.append(batch_invoices(settings, may, finn, after=pages[-1].next_after, per_page=per_page))
    assert [key for page in pages for key in _keys(page)] == MAY
    assert [len(page.items) for page in pages[:-1]] == [per_page] * (len(pages) - 1)
    assert [page.has_previous for page in pages] == [False] + [True] * (len(pages) - 1)
    assert {page.total for page in pages} == {INVOICES}

    backwards = [batch_invoices(settings, may, finn, before=LAST, per_page=per_page)]
    while backwards[-1].has_previous:
        backwards.append(batch_invoices(settings, may, finn, before=backwards[-1].previous_before,
                                        per_page=per_page))
    assert [key for page in reversed(backwards) for key in _keys(page)] == MAY
    assert [len(page.items) for page in backwards[:-1]] == [per_page] * (len(backwards) - 1)
    assert [page.has_next for page in backwards] == [False] + [True] * (len(backwards) - 1)
    assert _keys(backwards[0]) == MAY[-per_page:]  # the last page holds the last keys


def test_going_back_from_a_page_gives_the_page_before_it(settings: Settings, batches: dict[str, int]) -> None:
    finn, may = actor(settings, "finn"), batches["2026-05"]
    first = batch_invoices(settings, may, finn, per_page=5)
    second = batch_invoices(settings, may, finn, after=first.next_after, per_page=5)
    assert _keys(second) == MAY[5:10] and second.has_previous and second.has_next
    assert _keys(batch_invoices(settings, may, finn, before=second.previous_before, per_page=5)) == MAY[:5]
    again = batch_invoices(settings, may, finn, before=second.previous_before, per_page=5)
    assert not again.has_previous and again.previous_before is None and again.next_after == MAY[4]


def test_keys_past_either_end_and_of_another_batch(settings: Settings, batches: dict[str, int]) -> None:
    finn, may = actor(settings, "finn"), batches["2026-05"]
    beyond = batch_invoices(settings, may, finn, after="zzz", per_page=5)
    assert beyond.items == [] and beyond.has_previous and not beyond.has_next and beyond.previous_before == LAST
    before_all = batch_invoices(settings, may, finn, before="a", per_page=5)
    assert before_all.items == [] and before_all.has_next and before_all.next_after == FIRST
    assert _keys(batch_invoices(settings, may, finn, after=FIRST, per_page=5)) == MAY[:5]
    april_key = _key(3, "2026-04")  # between May's invoices 2 and 3
    assert _keys(batch_invoices(settings, may, finn, after=april_key, per_page=2)) == MAY[3:5]
    assert _keys(batch_invoices(settings, may, finn, before=april_key, per_page=2)) == MAY[1:3]
    whole = batch_invoices(settings, may, finn, per_page=INVOICES)
    assert not whole.has_previous and not whole.has_next and whole.next_after is None


def test_a_batch_of_a_tenant_the_user_cannot_see_is_not_found(settings: Settings, batches: dict[str, int]) -> None:
    with pytest.raises(NotFound):
        batch_invoices(settings, batches["2026-05"], actor(settings, "greta"), before=LAST)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_page_is_read_through_the_batch_key_index(settings: Settings, batches: dict[str, int]) -> None:
    engine = engine_for(settings)
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM invoices" in statement and "ORDER BY" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with UnitOfWork(engine) as uow:
            uow.invoices.page_by_key(batches["2026-05"], 5, after=MAY[5])
            uow.invoices.page_by_key(batches["2026-05"], 5, before=MAY[15])
            uow.invoices.page_by_key(batches["2026-05"], 5, before=LAST)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 3
    with engine.connect() as connection:
        for statement, parameters in statements:
            plan = " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                              parameters))
            assert "ix_invoices_batch_key" in plan and "TEMP B-TREE" not in plan, plan
