"""Approved batches, numbered invoices and their lines cannot be rewritten by any SQL statement (SQLite and
PostgreSQL triggers); drafts stay editable, and the export's one post-approval change still goes through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from config import Settings
from ledger.models import Batch, Invoice, InvoiceLine
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork


def _invoice(batch: Batch, customer_id: int, key: str, amount: str) -> Invoice:
    line = InvoiceLine(tenant_id=batch.tenant_id, customer_id=customer_id, line_key=f"{key}:l1", base_key=key,
                       kind="charge", description="Microsoft 365 E3", period_from=dt.date(2026, 5, 1),
                       period_to=dt.date(2026, 5, 31), quantity=Decimal(1), unit_price=Decimal(amount),
                       amount=Decimal(amount), unrounded=Decimal(amount), currency="EUR", vat_rate=Decimal(21))
    return Invoice(batch_id=batch.id, tenant_id=batch.tenant_id, customer_id=customer_id, invoice_key=key,
                   currency="EUR", net=Decimal(amount), vat=Decimal(0), gross=Decimal(amount), lines=[line])


@pytest.fixture
def ledger(settings: Settings) -> Engine:
    """nl-bv with an approved April batch (invoice NL-1, line 1) and a draft May batch (invoice 2, line 2)."""
    initialise(settings)
    engine = engine_for(settings)
    with UnitOfWork(engine, write=True) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        customer_id = uow.customers.add(tenant_id, "Fabrikam BV").id
        approved = uow.batches.add(tenant_id, "2026-04", "finn", dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
        draft = uow.batches.add(tenant_id, "2026-05", "finn", dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        uow.session.add_all([_invoice(approved, customer_id, "nl:2026-04:c1", "31.25"),
                             _invoice(draft, customer_id, "nl:2026-05:c1", "40.00")])
        uow.flush()
        # what approval does: number and issue the invoices, then close the batch
        uow.invoices.issue([{"id": 1, "number": "NL-1"}], dt.date(2026, 5, 1), "approved")
        approved.status, approved.approved_by = "approved", "anna"
    return engine


def _run(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement))


def _scalar(engine: Engine, query: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(query)).scalar()


REFUSED = {
    "an approved invoice's total": "UPDATE invoices SET gross = '99', net = '99' WHERE id = 1",
    "a numbered invoice's number": "UPDATE invoices SET number = 'NL-9' WHERE id = 1",
    "an approved invoice back to draft": "UPDATE invoices SET status = 'draft' WHERE id = 1",
    "export status together with an amount": "UPDATE invoices SET status = 'exported', vat = '1' WHERE id = 1",
    "a numbered invoice's credit-note link": "UPDATE invoices SET corrected_invoices = '[]', document_type = '381' "
                                             "WHERE id = 1",
    "a line's amount": "UPDATE invoice_lines SET amount = '1.00' WHERE id = 1",
    "a line's lineage": """UPDATE invoice_lines SET lineage = '{"formula": "0"}' WHERE id = 1""",
    "a draft line moved into a numbered invoice": "UPDATE invoice_lines SET invoice_id = 1 WHERE id = 2",
    "an approved batch's totals": """UPDATE batches SET totals = '{"net": "0"}' WHERE month = '2026-04'""",
    "an approved batch back to draft": "UPDATE batches SET status = 'draft' WHERE month = '2026-04'",
    "deleting a numbered invoice's line": "DELETE FROM invoice_lines WHERE id = 1",
    "deleting a numbered invoice": "DELETE FROM invoices WHERE id = 1",
    "deleting an approved batch": "DELETE FROM batches WHERE month = '2026-04'",
    "a line added to a numbered invoice": (
        "INSERT INTO invoice_lines (invoice_id, tenant_id, customer_id, line_key, base_key, version, kind, "
        "description, quantity, unit_price, amount, unrounded, currency, vat_rate, vat_category, lineage) "
        "SELECT 1, tenant_id, customer_id, 'extra', 'extra', 1, 'charge', 'extra', '1', '5', '5', '5', 'EUR', "
        "'21', 'S', '{}' FROM invoice_lines WHERE id = 1"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_the_database_refuses_rewriting_what_was_approved(ledger: Engine, what: str) -> None:
    before = [_scalar(ledger, f"SELECT count(*) FROM {t}") for t in ("batches", "invoices", "invoice_lines")]
    with pytest.raises(DBAPIError, match="is sealed"):
        _run(ledger, REFUSED[what])
    assert [_scalar(ledger, f"SELECT count(*) FROM {t}") for t in ("batches", "invoices", "invoice_lines")] == before
    assert _scalar(ledger, "SELECT gross FROM invoices WHERE id = 1") in ("31.25", Decimal("31.25"))
    assert _scalar(ledger, "SELECT amount FROM invoice_lines WHERE id = 1") in ("31.25", Decimal("31.25"))
    assert _scalar(ledger, "SELECT status FROM batches WHERE month = '2026-04'") == "approved"


ALLOWED = {
    "the export marks an invoice exported": "UPDATE invoices SET status = 'exported' WHERE id = 1",
    "the export marks the batch exported": "UPDATE batches SET status = 'exported' WHERE month = '2026-04'",
    "a rebuild changes a draft line": "UPDATE invoice_lines SET amount = '41.00' WHERE id = 2",
    "a rebuild changes a draft invoice": "UPDATE invoices SET gross = '41', net = '41' WHERE id = 2",
    "a rebuild removes a draft line": "DELETE FROM invoice_lines WHERE id = 2",
    "a rebuild changes the draft batch": "UPDATE batches SET totals = '{}', revision = 2 WHERE month = '2026-05'",
}


@pytest.mark.parametrize("what", ALLOWED)
def test_what_the_product_still_changes_goes_through(ledger: Engine, what: str) -> None:
    _run(ledger, ALLOWED[what])


def test_an_exported_invoice_stays_exported(ledger: Engine) -> None:
    _run(ledger, "UPDATE invoices SET status = 'exported' WHERE id = 1")
    _run(ledger, "UPDATE invoices SET status = 'exported' WHERE id = 1")  # a second target: no change, allowed
    with pytest.raises(DBAPIError, match="is sealed"):
        _run(ledger, "UPDATE invoices SET status = 'approved' WHERE id = 1")
