"""The outbox to Business Central over SOAP (nl-bv, posting on): a negative invoice leaves as one posted sales credit
memo on the Sales Credit Memo page, applied to the posted invoice it corrects, exactly once under a lost answer;
the positive invoice of the same batch goes to the Sales Invoice page as before. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from sandbox import bc_soap as bc_sandbox
from services.batches import approve_batch, build_batch
from services.clock import FixedClock
from services.demo.settings import sandbox_options
from services.errors import BadSetting
from services.export import erp_reference
from services.export.targets import erp_target
from services.operations import initialise
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot
from tests.services.batches.test_credit_notes import APRIL, MAY, invoices
from tests.services.export.test_export_outbox import (  # noqa: F401 - soap and soap_env are fixtures used here
    NOW,
    Soap,
    exports,
    run,
    soap,
    soap_env,
    soap_settings,
    statuses,
)

CREDIT_MEMOS = "POST /WS/[^/]+/Page/SalesCreditMemo"
# the partner codeunit the SOAP sandbox publishes (standard BC pages cannot post)
POST_CODEUNIT = {"service": bc_sandbox.POSTING.service, "post_operation": bc_sandbox.POSTING.post,
                 "posted_lookup_operation": bc_sandbox.POSTING.find_posted}
CUSTOMERS = ("C00001", "C00002")  # ERP customer numbers the BC sandbox knows


@pytest.fixture
def nl(settings: Settings, soap: Soap, soap_env: None, tmp_path: Path) -> Settings:  # noqa: F811
    configured = soap_settings(settings, soap, tmp_path, post_invoices=True, post_codeunit=POST_CODEUNIT)
    initialise(configured)
    return configured


def test_posting_over_soap_without_a_codeunit_is_a_setting_error(settings: Settings, soap: Soap,  # noqa: F811
                                                                  soap_env: None, tmp_path: Path) -> None:  # noqa: F811
    configured = soap_settings(settings, soap, tmp_path, post_invoices=True)
    with pytest.raises(BadSetting, match=r"tenant 'nl-bv': erp.post_codeunit is required"):
        erp_target(configured, configured.tenant("nl-bv"))


def april_posted_then_seats_lowered(settings: Settings) -> None:
    """C00001 is billed 20 seats for April and C00002 5; April is exported and posted in BC through the outbox.
    The vendor then shows C00001 at 1 seat from 04-02, so May carries a credit for April: a negative invoice."""
    subscriptions = {}
    for name, seats in zip(CUSTOMERS, (20, 5), strict=True):
        customer = add_customer(settings, "nl-bv", name)
        subscriptions[name] = add_subscription(settings, "nl-bv", customer, f"sub-{name}", "2026-04-01")
        snapshot(settings, subscriptions[name], "2026-04-01", seats)
    build_batch(settings, "nl-bv", "2026-04", actor(settings, "finn"), APRIL)
    approve_batch(settings, "nl-bv", "2026-04", actor(settings, "anna"), APRIL)
    assert {o.action for o in run(settings, clock=FixedClock(APRIL.now()))} == {"created"}
    assert {row.erp_status for row in exports(settings)} == {"posted"}
    snapshot(settings, subscriptions["C00001"], "2026-04-02", 1)
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), MAY)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)


@pytest.mark.parametrize("fault", [None, {"kind": "apply_then_drop"}], ids=["none", "create applied, answer lost"])
def test_a_negative_invoice_is_posted_once_as_a_credit_memo_applied_to_the_corrected_invoice(
        nl: Settings, soap: Soap, fault: dict[str, Any] | None) -> None:  # noqa: F811
    april_posted_then_seats_lowered(nl)
    found = invoices(nl)
    corrected, credit, charge = found["C00001/2026-04"], found["C00001/2026-05"], found["C00002/2026-05"]
    assert credit.document_type == "381" and credit.corrects_invoice_id == corrected.id
    posted_invoice = soap.documents(erp_reference("nl-bv", corrected.number))[0]["No"]
    if fault:
        soap.app.faults.arm(CREDIT_MEMOS, **fault)
    outcomes = run(nl, clock=FixedClock(NOW))
    assert soap.app.faults.listing() == []  # the fault did fire
    assert {o.action for o in outcomes} <= {"created", "adopted", "posted"}, outcomes
    credit_ref = erp_reference("nl-bv", credit.number)
    state = soap.state()
    [memo] = [m for m in state["posted_credit_memos"] if m["External_Document_No"] == credit_ref]
    assert state["credit_memos"] == [] and soap.documents(credit_ref) == []  # never a sales invoice
    assert memo["No"].startswith("PS-CR") and memo["Sell_to_Customer_No"] == "C00001"
    assert (memo["Applies_to_Doc_Type"], memo["Applies_to_Doc_No"]) == ("Invoice", posted_invoice)
    first = memo["lines"][0]
    assert (Decimal(str(first["Total_Amount_Excl_VAT"])), Decimal(str(first["Total_VAT_Amount"]))) == \
        (-credit.net, -credit.vat)  # the credit memo states the credited amounts positively
    assert all(Decimal(str(line["Unit_Price"])) >= 0 for line in memo["lines"])
    [invoice] = soap.documents(erp_reference("nl-bv", charge.number))
    assert invoice["No"].startswith("PSI") and Decimal(str(invoice["lines"][0]["Total_Amount_Excl_VAT"])) == \
        charge.net
    by_ref = {row.external_ref: row for row in exports(nl)}
    assert (by_ref[credit_ref].status, by_ref[credit_ref].erp_status, by_ref[credit_ref].erp_number) == \
        ("sent", "posted", memo["No"])
    assert set(statuses(nl).values()) == {"exported"}
    assert run(nl, clock=FixedClock(NOW)) == []  # a re-run sends nothing twice
    assert len(soap.state()["posted_credit_memos"]) == 1


def test_the_demo_publishes_the_codeunit_under_the_configured_name(settings: Settings, soap: Soap,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    named = {**POST_CODEUNIT, "service": "ContosoSalesPosting"}
    configured = soap_settings(settings, soap, tmp_path, post_invoices=True, post_codeunit=named)
    assert sandbox_options(configured)["sandbox.bc_soap"] == {"post_codeunit": "ContosoSalesPosting"}
    assert "sandbox.bc_soap" not in sandbox_options(soap_settings(settings, soap, tmp_path))
