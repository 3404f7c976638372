"""Applied payments reach Business Central's customer payment journal exactly once (the BC REST sandbox over TLS
with Entra tokens): a crash between the ERP's answer and our record is resolved by a look-up, a write whose answer
was lost is not created again, an unapplied payment never leaves, ``marked_paid`` sends nothing, and an ERP with no
payment adapter is refused in one sentence.

The contract the sandbox speaks:
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpayment
and .../api/dynamics_customerpayment_create (lines of ``customerPaymentJournals({id})/customerPayments``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from erp_export.base import ErpRejected
from erp_export.bc_rest_payments import BcPaymentJournal
from erp_export.payments import PaymentDocument, PaymentRef
from ledger.models import PaymentExport
from rating.payments.reference import creditor_reference
from sandbox import bc_rest as bc_sandbox
from services.clock import FixedClock
from services.errors import BadSetting
from services.export.targets import erp_target
from services.payments import export_payments, import_statement, unapply
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.export.test_export_bc_rest import Bc, bc, de, run, tls  # noqa: F401 - fixtures
from tests.services.export.test_export_outbox import seed_invoices
from tests.services.payments.seed import DE_IBAN, booking, statement

PAID = FixedClock(dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC))
PAYMENTS_PATH = r"/[^/]+/[^/]+/api/v2\.0/companies\([0-9a-f-]+\)/customerPaymentJournals\([0-9a-f-]+\)/customerPayments"


class Crash(Exception):
    """The process dies after the ERP answered and before the answer is committed."""


def paid_in_bc(sandbox: Bc) -> list[dict[str, Any]]:
    text = requests.get(f"{sandbox.server.url}{bc_sandbox.PREFIX}/__admin/state", verify=str(sandbox.tls.ca_cert),
                        timeout=5).text
    return json.loads(text, parse_float=Decimal)["customerPayments"]


def rows(settings: Settings) -> list[PaymentExport]:
    with UnitOfWork(engine_for(settings)) as uow:
        return list(uow.session.scalars(select(PaymentExport).order_by(PaymentExport.id)))


def paid(settings: Settings) -> list[str]:
    """Two invoices exported and posted in BC, the first paid (by its creditor reference), the second not."""
    numbers = seed_invoices(settings, tenant="de-gmbh", count=2, rates=("19",), customers=["C00011", "C00012"])
    run(settings)
    result = import_statement(settings, actor(settings, "greta"), statement(
        [booking("P-1", "965.89", "Customer C00011", None, creditor_reference(numbers[0]))], iban=DE_IBAN),
        "nov.xml", PAID)
    assert result.outcomes == {"applied": 1}, result
    return numbers


def send(settings: Settings, clock: FixedClock = PAID, **kwargs: Any) -> dict[str, int]:
    [summary] = export_payments(settings, actor(settings, "greta"), "de-gmbh", clock=clock, **kwargs)
    return summary.outcomes


def test_a_crash_between_answer_and_record_is_resolved_by_a_look_up(de: Settings, bc: Bc) -> None:  # noqa: F811
    numbers = paid(de)

    def crash(action: str, ref: PaymentRef) -> None:
        raise Crash(f"{action} {ref.erp_id}")

    with pytest.raises(Crash):
        send(de, after_send=crash)
    assert [r.status for r in rows(de)] == ["sending"]  # the run died holding the claim
    assert len(paid_in_bc(bc)) == 1
    assert send(de) == {"adopted": 1}  # looked up, found, never created again
    [line] = paid_in_bc(bc)
    assert (line["amount"], line["appliesToInvoiceNumber"], line["customerNumber"]) == (
        Decimal("-965.89"), "S-INV001001", "C00011")
    assert line["externalDocumentNumber"] == rows(de)[0].external_ref
    assert [(r.status, r.erp_id) for r in rows(de)] == [("sent", line["id"])]
    assert send(de) == {}  # nothing new: sent rows are never looked at again
    assert len(paid_in_bc(bc)) == 1 and numbers


def test_a_lost_answer_waits_for_the_erp_timeout_before_creating_again(de: Settings, bc: Bc) -> None:  # noqa: F811
    paid(de)
    bc.app.faults.arm(f"POST {PAYMENTS_PATH}", kind="apply_then_drop")
    assert send(de) == {"uncertain": 1}
    assert len(paid_in_bc(bc)) == 1  # BC took it; we do not know
    later = FixedClock(PAID.now() + dt.timedelta(hours=1))
    assert send(de, later) == {"adopted": 1}
    assert len(paid_in_bc(bc)) == 1


def test_unapplied_before_sending_never_leaves(de: Settings, bc: Bc) -> None:  # noqa: F811
    paid(de)
    with UnitOfWork(engine_for(de)) as uow:
        [entry] = uow.payments.entries([uow.tenants.by_code("de-gmbh").id], "applied")
        entry_id = entry.id
    unapply(de, actor(de, "greta"), entry_id, "wrong customer", PAID)
    assert send(de) == {}
    assert rows(de) == [] and paid_in_bc(bc) == []


def test_marked_paid_sends_nothing_and_other_erps_are_refused(de: Settings, bc: Bc, tmp_path: Any,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    paid(de)
    data = de.model_dump(mode="json")
    data["payments"]["erp"] = [{"tenant": "de-gmbh", "mode": "marked_paid"}]
    marked = parse_settings(data, tmp_path / "config.yaml")
    [summary] = export_payments(marked, actor(marked, "greta"), "de-gmbh", clock=PAID)
    assert (summary.target, summary.queued, summary.outcomes) == ("marked paid", 1, {})
    assert [r.status for r in rows(marked)] == ["marked"] and paid_in_bc(bc) == []
    data["payments"]["erp"] = [{"tenant": "de-gmbh"}]
    tryton_erp = {"kind": "tryton", "company": "db", "username_env": "TRYTON_USER", "password_env": "TRYTON_PASSWORD"}
    data["tenants"] = [dict(t, erp={**t["erp"], **tryton_erp}) if t["code"] == "de-gmbh" else t
                       for t in data["tenants"]]
    monkeypatch.setenv("TRYTON_USER", "admin")
    monkeypatch.setenv("TRYTON_PASSWORD", "secret")
    tryton = parse_settings(data, tmp_path / "config.yaml")
    with pytest.raises(BadSetting, match="the ERP tryton has no payment export yet"):
        export_payments(tryton, actor(tryton, "greta"), "de-gmbh", clock=PAID)


def test_bc_refuses_what_it_cannot_apply(de: Settings, bc: Bc) -> None:  # noqa: F811
    """The sandbox's checks as BC's: the customer must exist, the invoice applied to must be a posted one of that
    customer, ``appliesToInvoiceNumber`` holds 20 characters."""
    journal = BcPaymentJournal(erp_target(de, de.tenant("de-gmbh")).exporter)  # type: ignore[arg-type]
    doc = PaymentDocument("PAY-DE-GMBH-9", "C00011", "NL2026-05001", "S-INV001001", dt.date(2026, 11, 10),
                          Decimal("10.00"), "EUR", "test")
    with pytest.raises(ErpRejected, match="The posted sales invoice S-INV001001 of customer C00011 does not exist"):
        journal.create_payment(doc)
    with pytest.raises(ErpRejected, match="The Customer does not exist"):
        journal.create_payment(replace(doc, customer_number="C99999"))
    with pytest.raises(ErpRejected, match="longer than appliesToInvoiceNumber's 20 characters"):
        journal.create_payment(replace(doc, erp_invoice_number="S-INV-0000000000000001"))
    assert journal.find_payment("PAY-DE-GMBH-9") is None and paid_in_bc(bc) == []
