"""Credit notes (type 381) through the zeep SOAP exporter: the Sales Credit Memo page service of the BC sandbox,
exactly once under faults, found by type, updated, posted once and applied to the corrected posted invoice."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from erp_export.base import ErpRejected, export_document
from erp_export.bc_soap import BcSoapConfig, BcSoapExporter
from erp_export.documents import InvoiceDocument, PrecedingInvoice
from sandbox.core import SandboxApp, SandboxServer
from tests.erp_export.samples import invoice, line
from tests.erp_export.test_bc_soap import (  # noqa: F401
    FAST,
    SOAP,
    assert_once_and_right,
    config,
    erp_state,
    soap,
)
from tests.erp_export.test_bc_soap import POSTING as CODEUNIT

POSTING = {"post_codeunit": CODEUNIT}


def credit_note(seq: int, corrects: InvoiceDocument | None = None, **overrides: Any) -> InvoiceDocument:
    """Credit note ``CSP-NL01-202605-<seq>``: positive amounts, as a credit note states them; refers to
    ``corrects`` when given."""
    preceding = PrecedingInvoice(corrects.invoice_number, corrects.issue_date, corrects.external_ref) \
        if corrects else None
    return replace(invoice(seq, **overrides), type_code="381", preceding_invoice=preceding)


FAULTS = {
    "none": None,
    "create applied, answer lost": {"kind": "apply_then_drop", "after": 1},
    "503 on the look-up": {"kind": "status", "status": 503, "headers": {"Retry-After": "0"}},
    "429 html on create": {"kind": "status", "status": 429, "after": 1, "body": "<html>slow down</html>"},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_credit_note_lands_once_as_a_sales_credit_memo(soap: tuple[SandboxApp, SandboxServer],  # noqa: F811
                                                         fault: dict[str, Any] | None) -> None:
    app, server = soap
    exporter = BcSoapExporter(config(server))
    doc = credit_note(1)
    if fault:
        app.faults.arm(SOAP, **fault)
    result = export_document(exporter, doc, policy=FAST)
    assert result.ref.type_code == "381" and result.ref.number.startswith("S-CR")
    assert result.ref.totals_differ(doc) == []  # BC's credit memo totals are the credited amounts, positive
    assert_once_and_right(server, doc, store="credit_memos")
    assert erp_state(server)["invoices"] == []  # never as a sales invoice
    assert all(ln["Quantity"] > 0 and ln["Unit_Price"] > 0 for ln in erp_state(server)["credit_memos"][0]["lines"])
    again = export_document(exporter, doc, policy=FAST)
    assert again.action == "skipped" and again.ref.erp_id == result.ref.erp_id
    assert_once_and_right(server, doc, store="credit_memos")


def test_find_looks_on_the_page_of_the_document_type(soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    exporter = BcSoapExporter(config(server))
    memo, charge = credit_note(2), invoice(3)
    exporter.create(memo)
    exporter.create(charge)
    found = exporter.find(memo.external_ref, "381")
    assert found is not None and (found.type_code, found.status, found.line_count) == ("381", "draft", 3)
    assert exporter.find(memo.external_ref, "380") is None
    assert exporter.find(charge.external_ref, "381") is None
    assert exporter.plan(memo) == "skip" and exporter.plan(credit_note(4)) == "create"


@pytest.mark.parametrize("one_shot", [True, False], ids=["one-shot create", "header then lines"])
def test_a_changed_credit_memo_draft_is_updated_line_by_line(soap: tuple[SandboxApp, SandboxServer],  # noqa: F811
                                                             one_shot: bool) -> None:
    _, server = soap
    exporter = BcSoapExporter(config(server, one_shot_create=one_shot))
    export_document(exporter, credit_note(5), policy=FAST)
    changed = credit_note(5, lines=(line(1, "19", "31.20"), line(4, "2", "5.00")))
    assert exporter.plan(changed) == "update"
    assert export_document(exporter, changed, policy=FAST).action == "updated"
    assert_once_and_right(server, changed, store="credit_memos")
    assert exporter.plan(changed) == "skip"


def test_posted_once_and_applied_to_the_corrected_posted_invoice(
        soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    app, server = soap
    exporter = BcSoapExporter(config(server, **POSTING))
    corrected = invoice(6)
    posted_invoice = export_document(exporter, corrected, post=True, policy=FAST).ref.number
    memo = credit_note(7, corrects=corrected)
    # ReadMultiple, the posted look-ups of the credit memo and of the invoice (what to apply to) and Create pass; the
    # codeunit's post is applied and its answer lost; the retry finds the credit memo posted
    app.faults.arm(SOAP, kind="apply_then_drop", after=4)
    result = export_document(exporter, memo, post=True, policy=FAST)
    assert app.faults.listing() == []
    assert (result.action, result.ref.status, result.ref.type_code) == ("adopted", "posted", "381")
    assert result.ref.number.startswith("PS-CR")
    assert_once_and_right(server, memo, store="posted_credit_memos")
    [posted] = erp_state(server)["posted_credit_memos"]
    assert (posted["Applies_to_Doc_Type"], posted["Applies_to_Doc_No"]) == ("Invoice", posted_invoice)
    assert erp_state(server)["credit_memos"] == []
    again = export_document(exporter, memo, post=True, policy=FAST)
    assert (again.action, again.ref.number) == ("skipped", result.ref.number)  # found posted by its reference
    assert len(erp_state(server)["posted_credit_memos"]) == 1


def test_a_credit_note_whose_invoice_is_not_posted_in_bc_is_not_applied(
        soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    exporter = BcSoapExporter(config(server, **POSTING))
    corrected = invoice(8)
    exporter.create(corrected)  # a draft: nothing to apply to yet
    elsewhere = replace(corrected, external_ref="CSP-NL01-ELSEWHERE")  # exported to another ERP
    for n, corrects in enumerate((corrected, elsewhere, None), start=9):
        export_document(exporter, credit_note(n, corrects=corrects), policy=FAST)
    assert [memo.get("Applies_to_Doc_No") for memo in erp_state(server)["credit_memos"]] == [None] * 3


def test_posting_needs_the_partner_codeunit(
        soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    exporter = BcSoapExporter(config(server))
    with pytest.raises(ErpRejected, match="posting a sales credit memo over SOAP needs a partner codeunit"):
        export_document(exporter, credit_note(12), post=True, policy=FAST)


def test_an_unpublished_credit_memo_page_is_a_clear_rejection(
        soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    exporter = BcSoapExporter(config(server, credit_memo_service="CspSalesCrMemo"))
    assert export_document(exporter, invoice(13), policy=FAST).action == "created"  # invoices are unaffected
    with pytest.raises(ErpRejected, match=r"no page service CspSalesCrMemo at .*/Page/CspSalesCrMemo"):
        export_document(exporter, credit_note(14), policy=FAST)


def test_create_multiple_writes_one_page(soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    exporter = BcSoapExporter(config(server))
    with pytest.raises(ErpRejected, match="one page"):
        exporter.create_many([invoice(15), credit_note(16)])
    created = exporter.create_many([credit_note(16), credit_note(17)])
    assert [ref.type_code for ref in created] == ["381", "381"]
    assert_once_and_right(server, credit_note(16), store="credit_memos")


URLS = {
    "on-prem": ("https://bc:7047/BC/WS/CRONUS%20B.V./Page/SalesInvoice", "SalesCreditMemo",
                "https://bc:7047/BC/WS/CRONUS%20B.V./Page/SalesCreditMemo"),
    "online": ("https://api.businesscentral.dynamics.com/v2.0/t/Production/WS/Wolkwerk/Page/CspInvoice",
               "CspCreditMemo", "https://api.businesscentral.dynamics.com/v2.0/t/Production/WS/Wolkwerk/Page/"
               "CspCreditMemo"),
}


@pytest.mark.parametrize(("invoice_url", "service", "expected"), URLS.values(), ids=URLS.keys())
def test_the_credit_memo_page_is_published_next_to_the_invoice_page(invoice_url: str, service: str,
                                                                     expected: str) -> None:
    config_ = BcSoapConfig(service_url=invoice_url, username="u", password="p", credit_memo_service=service)
    assert config_.pages()["381"].url == expected
    assert replace(config_, credit_memo_url="https://x/Page/Y").pages()["381"].url == "https://x/Page/Y"
    with pytest.raises(ValueError, match="not a page service URL"):
        replace(config_, service_url="https://bc:7047/BC/SalesInvoice").pages()


def test_the_credit_note_keeps_its_dates(soap: tuple[SandboxApp, SandboxServer]) -> None:  # noqa: F811
    _, server = soap
    doc = replace(credit_note(18), issue_date=date(2026, 6, 2))
    BcSoapExporter(config(server)).create(doc)
    [memo] = erp_state(server)["credit_memos"]
    assert (memo["Posting_Date"], memo["Document_Date"]) == ("2026-06-02", "2026-06-02")
