"""An approved invoice with a negative total is a credit note (type 381) referring to the invoice it corrects, and
is numbered in the tenant's credit-note series when one is configured; gapless also under parallel approvals."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from config import Settings
from config.loader import ConfigError
from ledger.models import Invoice
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import ROOT
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mark_exported, snapshot, usage
from tests.services.batches.test_numbering import APPROVE, settings_with

APRIL = FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC))
MAY = FixedClock(dt.datetime(2026, 6, 2, 7, tzinfo=dt.UTC))
CREDIT_SERIES = {"pattern": "NLC{year}-{seq:04d}", "first": 1, "last": 9999}


def invoices(settings: Settings) -> dict[str, Invoice]:
    """Every invoice by customer reference and month (``"Contoso/2026-05"``), detached with its columns loaded."""
    with UnitOfWork(engine_for(settings)) as uow:
        rows = uow.session.scalars(select(Invoice).order_by(Invoice.id)).all()
        return {f"{uow.customers.get(row.customer_id).reference}/{uow.batches.get(row.batch_id).month}": row
                for row in rows}


def seats_lowered_after_export(settings: Settings, tenant: str = "nl-bv", builder: str = "finn",
                               approver: str = "anna", names: tuple[str, str] = ("Contoso", "Northwind")) -> None:
    """Contoso: 20 seats billed for April and exported; the vendor then shows 1 seat from 04-02, so May (one seat)
    carries a credit for April of 19 seats: a negative invoice. Northwind keeps 5 seats: a positive invoice. The May
    batch is built, not approved. ``names`` are the two customers' names (and ERP customer numbers)."""
    initialise(settings)
    for name, seats in zip(names, (20, 5), strict=True):
        customer = add_customer(settings, tenant, name)
        sub = add_subscription(settings, tenant, customer, f"sub-{name}", "2026-04-01")
        snapshot(settings, sub, "2026-04-01", seats)
        if seats == 20:
            contoso = sub
    build_batch(settings, tenant, "2026-04", actor(settings, builder), APRIL)
    approve_batch(settings, tenant, "2026-04", actor(settings, approver), APRIL)
    mark_exported(settings, tenant, "2026-04")
    snapshot(settings, contoso, "2026-04-02", 1)
    build_batch(settings, tenant, "2026-05", actor(settings, builder), MAY)


def test_a_negative_invoice_becomes_a_credit_note_referring_to_the_invoice_it_corrects(settings: Settings) -> None:
    seats_lowered_after_export(settings)
    report = approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)
    found = invoices(settings)
    april, credit, positive = found["Contoso/2026-04"], found["Contoso/2026-05"], found["Northwind/2026-05"]
    assert credit.gross < 0 and credit.document_type == "381"
    assert credit.corrects_invoice_id == april.id
    assert credit.corrected_invoices == [{"id": april.id, "number": april.number, "issue_date": "2026-05-02"}]
    assert (positive.document_type, positive.corrects_invoice_id, positive.corrected_invoices) == ("380", None, [])
    assert april.document_type == "380"
    assert (report.invoices, report.credit_notes) == (2, 1)
    # no series of its own: credit notes take the next invoice numbers, in invoice-key order like every invoice
    assert sorted([credit.number, positive.number]) == ["NL2026-00003", "NL2026-00004"]
    assert (report.first_number, report.last_number, report.first_credit_note) == ("NL2026-00003",
                                                                                     "NL2026-00004", None)


def test_a_credit_note_series_of_its_own_counts_apart(db_url: str, tmp_path: Path) -> None:
    settings, _ = settings_with(db_url, tmp_path, credit_notes=CREDIT_SERIES)
    seats_lowered_after_export(settings)
    report = approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)
    found = invoices(settings)
    assert found["Contoso/2026-05"].number == "NLC2026-0001"
    assert found["Northwind/2026-05"].number == "NL2026-00003"
    assert (report.first_number, report.last_number) == ("NL2026-00003", "NL2026-00003")
    assert (report.first_credit_note, report.last_credit_note) == ("NLC2026-0001", "NLC2026-0001")


def test_a_credit_note_that_corrects_nothing_issued_has_no_reference(settings: Settings) -> None:
    """A refund of April usage billed in May, with nothing of that customer ever invoiced: still a 381."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Refundco")
    sub = add_subscription(settings, "nl-bv", customer, "azure-1", "2026-04-01", source="azure-costs")
    usage(settings, "nl-bv", customer, sub, "2026-04-03", "-12.00")
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), MAY)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)
    credit = invoices(settings)["Refundco/2026-05"]
    assert (credit.document_type, credit.corrects_invoice_id, credit.corrected_invoices) == ("381", None, [])
    assert credit.gross < 0


MONTHS = ("2026-02", "2026-03", "2026-04", "2026-05")


def test_parallel_approvals_keep_both_series_gapless(db_url: str, tmp_path: Path) -> None:
    """Four months approved by four processes at once; each month has two invoices and two credit notes (usage
    refunds of the month before)."""
    settings, path = settings_with(db_url, tmp_path, credit_notes=CREDIT_SERIES)
    initialise(settings)
    for n in range(2):
        buyer = add_customer(settings, "nl-bv", f"Buyer {n}")
        snapshot(settings, add_subscription(settings, "nl-bv", buyer, f"sub-{n}", "2026-01-01"), "2026-01-01", n + 1)
        refunded = add_customer(settings, "nl-bv", f"Refund {n}")
        azure = add_subscription(settings, "nl-bv", refunded, f"azure-{n}", "2026-01-01", source="azure-costs")
        for month in ("2026-01", "2026-02", "2026-03", "2026-04"):
            usage(settings, "nl-bv", refunded, azure, f"{month}-10", "-5.00")
    for month in MONTHS:
        build_batch(settings, "nl-bv", month, actor(settings, "finn"), MAY)
    start = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CSPBILL_DATABASE_URL", None)
    procs = [subprocess.Popen([sys.executable, "-c", APPROVE, str(path), month, str(start)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for month in MONTHS]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(MONTHS), [err for _, err in results]
    found = invoices(settings).values()
    credit = sorted(row.number for row in found if row.document_type == "381")
    plain = sorted(row.number for row in found if row.document_type == "380")
    assert credit == [f"NLC2026-{n:04d}" for n in range(1, 9)]
    assert plain == [f"NL2026-{n:05d}" for n in range(1, 9)]
    with UnitOfWork(engine_for(settings)) as uow:
        tenant_id = uow.tenants.by_code("nl-bv").id
        assert uow.invoices.lock_counter(tenant_id, 2026, 0, "credit_note") == 8
        assert uow.invoices.lock_counter(tenant_id, 2026, 0) == 8


@pytest.mark.parametrize("series", [
    {"pattern": "NL{year}-{seq:05d}"},  # the invoice pattern: numbers would collide
    {"pattern": "NLC{year}", "first": 1},  # no {seq}
    {"pattern": "NLC{seq}", "first": 5, "last": 4},
])
def test_a_credit_note_series_that_cannot_work_is_refused_at_start(db_url: str, tmp_path: Path,
                                                                     series: dict) -> None:
    with pytest.raises(ConfigError, match="credit_notes"):
        settings_with(db_url, tmp_path, credit_notes=series)
