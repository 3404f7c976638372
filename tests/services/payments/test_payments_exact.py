"""Applied payments reach Exact Online as cash entries exactly once (the Exact sandbox over TLS with OAuth): the
line on the customer's account, credited (negative), linked to the sales entry by ``OurRef``, our reference in
``Description``; a lost answer and a crash after the answer are resolved by a look-up.

The contract: Exact's FinancialTransactionCashEntries / CashEntryLines
(https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=FinancialTransactionCashEntries; fields as
mirrored at https://documentation.invantive.com/2017R2/exact-online-data-model/webhelp/exact-online-connector-exactonlinerest-financialtransaction-cashentries.html).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
import requests

from config import Settings
from erp_export.payments import PaymentRef
from rating.payments.reference import creditor_reference
from sandbox.core import SandboxServer
from sandbox.tls import TlsFiles
from services.clock import FixedClock
from services.payments import export_payments, import_statement
from tests.identity import actor
from tests.services.export.test_export_exact import entries, exact, nl, run, tls  # noqa: F401 - fixtures
from tests.services.export.test_export_outbox import exports, seed_invoices
from tests.services.payments.seed import booking, statement

PAID = FixedClock(dt.datetime(2026, 6, 30, 19, 0, tzinfo=dt.UTC))
CASH = r"/api/v1/\d+/financialtransaction/CashEntries"
GROSS = "978.14"  # 811.50 net at 21 %, 10.50 × 3 at 9 %: as the export test's invoices


def cash_lines(server: SandboxServer, certs: TlsFiles) -> list[dict[str, Any]]:
    return json.loads(requests.get(f"{server.url}/__admin/state", verify=str(certs.ca_cert), timeout=5).text,
                      parse_float=Decimal)["cash_entry_lines"]


def send(settings: Settings, clock: FixedClock = PAID, **kwargs: Any) -> dict[str, int]:
    [summary] = export_payments(settings, actor(settings, "finn"), "nl-bv", clock=clock, **kwargs)
    return summary.outcomes


@pytest.mark.parametrize("fault", [None, "apply_then_drop", "crash"])
def test_each_payment_once_as_a_cash_entry(nl: Settings, exact: tuple[Any, SandboxServer], tls: TlsFiles,  # noqa: F811
                                           fault: str | None) -> None:
    app, server = exact
    numbers = seed_invoices(nl, count=2, rates=("21", "9"), prices=("31.20", "10.50"))
    run(nl)
    entry_number = next(e for e in exports(nl) if e.status == "sent").erp_number
    result = import_statement(nl, actor(nl, "finn"), statement(
        [booking("E-1", GROSS, "Customer C00001", None, creditor_reference(numbers[0]))]), "jun.xml", PAID)
    assert result.outcomes == {"applied": 1}, result
    hooks: dict[str, Any] = {}
    if fault == "apply_then_drop":
        app.faults.arm(f"POST {CASH}", kind="apply_then_drop")
    if fault == "crash":
        def crash(action: str, ref: PaymentRef) -> None:
            raise RuntimeError(f"killed after {action} {ref.erp_id}")
        hooks["after_send"] = crash
        with pytest.raises(RuntimeError, match="killed after created"):
            send(nl, **hooks)
    else:
        assert send(nl) == ({"created": 1} if fault is None else {"uncertain": 1})
    later = FixedClock(PAID.now() + dt.timedelta(hours=1))
    if fault:
        assert send(nl, later) == {"adopted": 1}
    [line] = cash_lines(server, tls)
    assert (Decimal(str(line["AmountFC"])), line["OurRef"], line["Description"]) == (
        Decimal(f"-{GROSS}"), int(entry_number), "PAY-NL-BV-1")
    assert send(nl, later) == {}
    assert len(cash_lines(server, tls)) == 1
