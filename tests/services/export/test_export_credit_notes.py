"""A credit note leaves as UBL CreditNote / CII type 381 with its preceding-invoice reference (BT-25, BT-26) and the
credited amounts stated positively, and passes the official EN 16931 rules (validator in /work/shared/validation)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree

from config import Settings
from ledger.models import Invoice
from services.batches import approve_batch, build_batch
from services.export import write_einvoices
from services.operations import initialise
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, usage
from tests.services.batches.test_credit_notes import MAY, invoices, seats_lowered_after_export

VALIDATOR = Path("/work/shared/validation/einvoice/validate")
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
# rules our test ledger cannot meet, whatever the document type: no street/city/postcode in config (NL-R-002/004),
# customers without an electronic address (PEPPOL-EN16931-R010), no due date or payment terms (BR-CO-25 in the
# rule sets Peppol bundles, for any positive amount due)
DATA_GAPS = {"NL-R-002", "NL-R-004", "PEPPOL-EN16931-R010", "BR-CO-25"}


@pytest.fixture
def credit_note(settings: Settings) -> tuple[Settings, Invoice, Invoice]:
    seats_lowered_after_export(settings)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)
    found = invoices(settings)
    return settings, found["Contoso/2026-05"], found["Contoso/2026-04"]


def written(settings: Settings, fmt: str, out: Path, number: str) -> Path:
    files = write_einvoices(settings, actor(settings, "finn"), "2026-05", fmt, out, tenant="nl-bv")
    return next(file.path for file in files if file.invoice_number == number)


def validate(path: Path) -> dict[str, set[str]]:
    """``{rule set: ids of the fatal asserts that failed}`` from the official validator."""
    if not VALIDATOR.exists():
        pytest.skip("the EN 16931 validator is not installed here")
    run = subprocess.run([sys.executable, str(VALIDATOR), "--json", str(path)], capture_output=True, text=True,
                         timeout=300)
    reports = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert reports, run.stderr
    return {report["rules"]: {issue["id"] for issue in report["issues"] if issue["flag"] == "fatal"}
            for report in reports}


def test_ubl_credit_note_refers_to_the_corrected_invoice_with_positive_amounts(
        credit_note: tuple[Settings, Invoice, Invoice], tmp_path: Path) -> None:
    settings, credit, april = credit_note
    root = etree.parse(str(written(settings, "ubl", tmp_path, credit.number))).getroot()
    assert root.tag == f"{{{CREDIT_NOTE}}}CreditNote"
    assert root.findtext(f"{{{CBC}}}CreditNoteTypeCode") == "381"
    reference = root.find(f"{{{CAC}}}BillingReference/{{{CAC}}}InvoiceDocumentReference")
    assert (reference.findtext(f"{{{CBC}}}ID"), reference.findtext(f"{{{CBC}}}IssueDate")) == (april.number,
                                                                                              "2026-05-02")
    assert Decimal(root.findtext(f".//{{{CBC}}}PayableAmount")) == -credit.gross > 0
    lines = root.findall(f"{{{CAC}}}CreditNoteLine")
    amounts = [Decimal(line.findtext(f"{{{CBC}}}LineExtensionAmount")) for line in lines]
    assert sum(amounts) == -credit.net
    assert all(Decimal(line.findtext(f".//{{{CBC}}}PriceAmount")) >= 0 for line in lines)  # BR-27
    assert root.find(f"{{{CAC}}}PaymentMeans") is None  # the seller's account is not where a credit is paid


def test_cii_credit_note_is_type_381_with_the_invoice_referenced(credit_note: tuple[Settings, Invoice, Invoice],
                                                                 tmp_path: Path) -> None:
    settings, credit, april = credit_note
    _, xml = facturx.get_xml_from_pdf(written(settings, "zugferd", tmp_path, credit.number).read_bytes(),
                                      check_xsd=True)
    root = etree.fromstring(xml)
    assert root.find(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}TypeCode").text == "381"
    assert root.find(f".//{{{RAM}}}InvoiceReferencedDocument/{{{RAM}}}IssuerAssignedID").text == april.number
    assert Decimal(root.find(f".//{{{RAM}}}DuePayableAmount").text) == -credit.gross


@pytest.mark.parametrize("fmt", ["ubl", "zugferd"])
def test_credit_note_passes_the_en16931_rules(credit_note: tuple[Settings, Invoice, Invoice], tmp_path: Path,
                                              fmt: str) -> None:
    settings, credit, _ = credit_note
    failed = validate(written(settings, fmt, tmp_path, credit.number))
    assert failed, "no rule set ran"
    for rules, ids in failed.items():
        assert ids <= DATA_GAPS, (rules, ids)
    if fmt == "ubl":
        assert failed["EN16931-UBL-validation.xslt"] == set()
    else:
        assert failed["EN16931-CII-validation.xslt"] == set()


def test_a_credit_note_without_a_preceding_invoice_has_no_reference_and_nl_r_001_flags_it(settings: Settings,
                                                                                          tmp_path: Path) -> None:
    """EN 16931 makes BG-3 optional, so the CEN rules pass; Peppol's Dutch rule NL-R-001 requires a Dutch supplier's
    credit note to carry cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID, so such a credit note (a refund of
    something never invoiced through cspbill) cannot go over Peppol NL as it is."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Refundco")
    sub = add_subscription(settings, "nl-bv", customer, "azure-1", "2026-04-01", source="azure-costs")
    usage(settings, "nl-bv", customer, sub, "2026-04-03", "-12.00")
    build_batch(settings, "nl-bv", "2026-05", actor(settings, "finn"), MAY)
    approve_batch(settings, "nl-bv", "2026-05", actor(settings, "anna"), MAY)
    credit = invoices(settings)["Refundco/2026-05"]
    path = written(settings, "ubl", tmp_path, credit.number)
    root = etree.parse(str(path)).getroot()
    assert root.tag == f"{{{CREDIT_NOTE}}}CreditNote" and root.find(f"{{{CAC}}}BillingReference") is None
    failed = validate(path)
    assert failed["EN16931-UBL-validation.xslt"] == set()
    assert "NL-R-001" in failed["PEPPOL-EN16931-UBL.xslt"]
