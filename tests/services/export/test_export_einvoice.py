"""E-invoice files for a batch: one per approved invoice, written from the export document (same key, lines, VAT)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree

from config import Settings
from services.errors import NotFound, ValidationFailed
from services.export import write_einvoices
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.identity import actor
from tests.services.export.test_export_outbox import MONTH, seed_invoices

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"


@pytest.fixture
def nl(settings: Settings) -> Settings:
    initialise(settings)
    return settings


def test_ubl_file_per_approved_invoice_with_our_totals(nl: Settings, tmp_path: Path) -> None:
    numbers = seed_invoices(nl, count=2, rates=("21", "9"))
    seed_invoices(nl, month="2026-04", count=1, customers=["C00009"], status="draft")
    files = write_einvoices(nl, actor(nl, "finn"), MONTH, "ubl", tmp_path, tenant="nl-bv")
    assert [(f.invoice_number, f.path.name) for f in files] == [(n, f"{n}.ubl.xml") for n in numbers]
    root = etree.parse(str(files[0].path)).getroot()
    assert root.findtext(f"{{{CBC}}}ID") == numbers[0]
    # 25 x 31.20 at 21 % and 3 x 10.555 (31.67) at 9 %: VAT per rate, rounded once per rate
    payable = Decimal(root.findtext(f".//{{{CBC}}}PayableAmount"))
    assert payable == Decimal("780.00") + Decimal("163.80") + Decimal("31.67") + Decimal("2.85")
    with UnitOfWork(engine_for(nl)) as uow:
        assert len(uow.audit.list(action="einvoice.write")) == 1


def test_zugferd_pdf_embeds_the_en16931_xml(nl: Settings, tmp_path: Path) -> None:
    [number] = seed_invoices(nl, count=1)
    [file] = write_einvoices(nl, actor(nl, "anna"), MONTH, "zugferd", tmp_path, tenant="nl-bv")
    assert file.path.name == f"{number}.pdf"
    _, xml = facturx.get_xml_from_pdf(file.path.read_bytes(), check_xsd=True)
    # (780.00 + 31.67) + 21 % VAT over both lines (170.45)
    assert etree.fromstring(xml).find(f".//{{{RAM}}}DuePayableAmount").text == "982.12"


def test_refusals_name_the_record(nl: Settings, tmp_path: Path) -> None:
    seed_invoices(nl, count=1)
    with pytest.raises(ValidationFailed, match="format 'docx'"):
        write_einvoices(nl, actor(nl, "finn"), MONTH, "docx", tmp_path, tenant="nl-bv")
    with pytest.raises(NotFound, match="batch 2030-01: not found"):
        write_einvoices(nl, actor(nl, "finn"), "2030-01", "ubl", tmp_path, tenant="nl-bv")
    with pytest.raises(NotFound):
        write_einvoices(nl, actor(nl, "greta"), MONTH, "ubl", tmp_path, tenant="nl-bv")
