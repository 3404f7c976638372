"""Every UBL, CII, XRechnung and Factur-X file of a demo month (both legal entities, credit notes, reverse-charged
customers and the German public customer included) passes the official EN 16931 and Peppol BIS 3 rules with no
fatal finding, written by `cspbill einvoice` after `cspbill demo --once` with the demo's own master data.

One demo run serves every check (``demo_month``, shared with test_demo.py), and the files go through
the official validator (``../shared/validation/einvoice/validate``) in one call, so its stylesheets are compiled
once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from ledger.db import make_engine
from ledger.models import Batch, Customer, Invoice, Tenant
from tests.e2e.conftest import DemoMonth
from tests.e2e.test_einvoice_cli import cli
from tests.einvoice_rules import RULES_DIR, rules_or_skip, xml_of

# one demo run (closing the month before too), seven CLI runs and one validation on a shared machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

APPROVERS = {"nl-bv": "anna", "de-gmbh": "greta"}
FORMATS = {"ubl": ".ubl.xml", "cii": ".cii.xml", "facturx": ".pdf", "xrechnung": ".xrechnung.xml"}
XRECHNUNG_ENTITY = "de-gmbh"  # XRechnung is the German public buyers' format: the German entity's batch
PEPPOL_RULES = "PEPPOL-EN16931-UBL.xslt"  # Peppol BIS 3 rules, not asked of XRechnung (a CIUS of its own)


@dataclass(frozen=True)
class Issued:
    number: str
    tenant: str
    document_type: str
    corrects: str | None  # the number of the invoice a credit note refers to
    leitweg_id: str | None


@dataclass(frozen=True)
class DemoFiles:
    month: str
    directory: Path
    invoices: dict[str, Issued]  # by number, the demo month's only


@pytest.fixture(scope="module")
def demo_files(demo_month: DemoMonth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFiles]:
    rules_or_skip()
    summary = demo_month.summary
    config, out = demo_month.directory / "config.yaml", tmp_path_factory.mktemp("demo-einvoices") / "files"
    for tenant, username in APPROVERS.items():
        for fmt in FORMATS:
            if fmt == "xrechnung" and tenant != XRECHNUNG_ENTITY:
                continue
            done = cli(config, "einvoice", "--tenant", tenant, "--batch", summary["month"], "--format", fmt,
                       "--out", str(out), "--as", username)
            assert done.returncode == 0, done.stderr
    yield DemoFiles(summary["month"], out, _issued(demo_month.directory / "cspbill.db", summary["month"]))


def _issued(database: Path, month: str) -> dict[str, Issued]:
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            numbers = dict(connection.execute(select(Invoice.id, Invoice.number)).all())
            rows = connection.execute(
                select(Invoice.number, Tenant.code, Invoice.document_type, Invoice.corrects_invoice_id,
                       Customer.leitweg_id)
                .join(Tenant, Tenant.id == Invoice.tenant_id).join(Customer, Customer.id == Invoice.customer_id)
                .join(Batch, Batch.id == Invoice.batch_id).where(Batch.month == month)).all()
    finally:
        engine.dispose()
    return {row.number: Issued(row.number, row.code, row.document_type, numbers.get(row.corrects_invoice_id),
                               row.leitweg_id) for row in rows}


def _files(demo: DemoFiles, suffix: str) -> list[Path]:
    return sorted(p for p in demo.directory.iterdir() if p.name.endswith(suffix))


def test_one_file_per_invoice_and_format(demo_files: DemoFiles) -> None:
    for fmt, suffix in FORMATS.items():
        entities = [XRECHNUNG_ENTITY] if fmt == "xrechnung" else list(APPROVERS)
        expected = sorted(n + suffix for n, issued in demo_files.invoices.items() if issued.tenant in entities)
        assert [p.name for p in _files(demo_files, suffix)] == expected, fmt


def test_every_file_passes_the_official_rules(demo_files: DemoFiles) -> None:
    files = sorted(demo_files.directory.iterdir())
    done = subprocess.run([sys.executable, str(RULES_DIR / "validate"), "--json", *map(str, files)],
                          capture_output=True, text=True, timeout=1800)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {Path(r["file"]).name for r in reports} == {p.name for p in files}, done.stderr[-2000:]
    failures = {f"{Path(r['file']).name} [{r['rules']}]": [f"{i['id']}: {i['text'][:160]}" for i in r["issues"]
                                                             if i["flag"] == "fatal"]
                for r in reports
                if not (r["rules"] == PEPPOL_RULES and r["file"].endswith(FORMATS["xrechnung"]))}
    assert {name: found for name, found in failures.items() if found} == {}


def test_a_credit_note_of_each_legal_entity_refers_to_the_invoice_it_corrects(demo_files: DemoFiles) -> None:
    credit_notes = [i for i in demo_files.invoices.values() if i.document_type == "381"]
    assert {i.tenant for i in credit_notes} == set(APPROVERS)
    for note in credit_notes:
        assert note.corrects is not None, note
        ubl = etree.fromstring((demo_files.directory / f"{note.number}.ubl.xml").read_bytes())
        assert etree.QName(ubl).localname == "CreditNote"
        assert ubl.findtext("{*}CreditNoteTypeCode") == "381"
        assert ubl.findtext("{*}BillingReference/{*}InvoiceDocumentReference/{*}ID") == note.corrects
        cii = etree.fromstring(xml_of((demo_files.directory / f"{note.number}.pdf").read_bytes()))
        assert cii.findtext(".//{*}ExchangedDocument/{*}TypeCode") == "381"
        assert cii.findtext(".//{*}InvoiceReferencedDocument/{*}IssuerAssignedID") == note.corrects


def test_the_german_public_customer_gets_its_leitweg_id(demo_files: DemoFiles) -> None:
    public = [i for i in demo_files.invoices.values() if i.leitweg_id and i.tenant == XRECHNUNG_ENTITY]
    assert public
    for invoice in public:
        root = etree.fromstring((demo_files.directory / f"{invoice.number}.xrechnung.xml").read_bytes())
        assert root.findtext("{*}BuyerReference") == invoice.leitweg_id
        assert "xrechnung" in (root.findtext("{*}CustomizationID") or "")
