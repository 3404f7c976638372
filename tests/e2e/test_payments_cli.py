"""`cspbill payments` through the real console script: a camt.053 and an MT940 imported (the same file twice
changes nothing), the queue, accept and reassign, unapply, open items with creditor references, the rate, the demo
statement, and bad files refused with exit code 1 naming file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Settings
from rating.payments.reference import creditor_reference, printed
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import as_json, config_file, cspbill  # noqa: F401 - config_file is a fixture
from tests.services.payments.seed import booking, seed_invoices, statement

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it

MT940 = (":20:STMT2611\r\n:25:NL91ABNA0417164300\r\n:28C:00042/001\r\n:60F:C261101EUR1000,00\r\n"
         ":61:2611121112C605,00NTRFNONREF//MT-0001\r\n"
         ":86:/EREF/NOTPROVIDED/NAME/Fabrikam Logistiek/REMI/USTD//Factuur NL2026-00002/\r\n"
         ":62F:C261112EUR1605,00\r\n")


@pytest.fixture
def files(config_file: Path, settings: Settings, tmp_path: Path) -> Path:  # noqa: F811 - the fixture above
    seed_invoices(settings)
    (tmp_path / "nov.xml").write_bytes(statement([
        booking("C-1", "242.00", "Contoso Zorg B.V.", None, creditor_reference("NL2026-00001")),
        booking("C-2", "121.00", "Northwind", None, None, "October"),
        booking("C-3", "77.77", "Someone Else"),
    ]))
    (tmp_path / "nov.sta").write_text(MT940, encoding="latin-1")
    (tmp_path / "foreign.xml").write_bytes(statement([booking("F-1", "1.00")], iban="GB29NWBK60161331926819"))
    return tmp_path


def test_import_decide_and_read_through_the_cli(files: Path, config_file: Path) -> None:  # noqa: F811
    first = cspbill(config_file, "payments", "import", str(files / "nov.xml"), "--as", "finn").stdout
    assert "nov.xml: 1 statement(s) for nl-bv: 3 new entries; 1 applied, 2 review" in first
    again = cspbill(config_file, "payments", "import", str(files / "nov.xml"), "--as", "finn").stdout
    assert "already imported" in again and "nothing changed" in again
    mt = cspbill(config_file, "payments", "import", str(files / "nov.sta"), "--as", "finn").stdout
    assert "1 new entry; 1 applied" in mt
    queue = as_json(config_file, "payments", "queue", "--as", "finn")
    assert [(e["bank_reference"], e["invoices"]) for e in queue] == [("C-2", ["NL2026-00003"]),
                                                                      ("C-3", ["NL2026-00004"])]
    accepted = cspbill(config_file, "payments", "accept", str(queue[0]["id"]), "--as", "anna").stdout
    assert "applied (NL2026-00003)" in accepted
    refused = cspbill(config_file, "payments", "accept", str(queue[0]["id"]), "--as", "anna", ok=False)
    assert "only entries in review or unmatched" in refused.stderr and refused.returncode == 1
    cspbill(config_file, "payments", "reassign", str(queue[1]["id"]), "--invoice", "NL2026-00004", "--as", "finn")
    undone = cspbill(config_file, "payments", "unapply", str(queue[1]["id"]), "--reason", "wrong customer",
                     "--as", "finn").stdout
    assert "review" in undone
    items = as_json(config_file, "payments", "open-items", "--as", "finn")
    assert [(i["invoice"], i["open"], i["reference"]) for i in items] == [
        ("NL2026-00004", "77.77", creditor_reference("NL2026-00004"))]
    table = cspbill(config_file, "payments", "open-items", "--as", "finn").stdout
    assert printed(creditor_reference("NL2026-00004")) in table
    rate = cspbill(config_file, "payments", "rate", "--as", "finn").stdout
    assert "nl-bv 2026-11: 2 of 4 applied straight through (50.0%)" in rate
    audit = cspbill(config_file, "audit", "--tenant", "nl-bv", "--as", "finn", "--json").stdout
    assert "payment.unapply" in audit and "wrong customer" in audit


def test_bad_input_and_roles_exit_one_with_one_line(files: Path, config_file: Path) -> None:  # noqa: F811
    foreign = cspbill(config_file, "payments", "import", str(files / "foreign.xml"), "--as", "finn", ok=False)
    assert foreign.returncode == 1
    assert "foreign.xml: statement S-1: field Acct/Id/IBAN: account GB29NWBK60161331926819 is not configured" in (
        foreign.stderr.replace("\n", ""))
    (files / "broken.xml").write_bytes(b"<Document><BkToCstmrStmt>")
    broken = cspbill(config_file, "payments", "import", str(files / "broken.xml"), "--as", "finn", ok=False)
    assert "broken.xml: field XML" in broken.stderr
    desk = cspbill(config_file, "payments", "import", str(files / "nov.xml"), "--as", "dana", ok=False)
    assert "lacks role 'finance'" in desk.stderr
    listed = as_json(config_file, "payments", "list", "--as", "finn")
    assert listed == []


def test_the_demo_statement_pays_the_open_invoices(files: Path, config_file: Path) -> None:  # noqa: F811
    out = files / "demo.xml"
    written = cspbill(config_file, "payments", "demo-statement", "--month", "2026-10", "--out", str(out),
                      "--tenant", "nl-bv", "--as", "finn").stdout
    assert "camt.053 with" in written and out.exists()
    imported = cspbill(config_file, "payments", "import", str(out), "--as", "finn").stdout
    assert "for nl-bv" in imported
    entries = as_json(config_file, "payments", "list", "--as", "finn")
    assert {"Stichting Onbekend"} <= {e["payer"] for e in entries if e["status"] == "unmatched"}


def test_payments_out_through_the_cli(files: Path, config_file: Path, tmp_path: Path) -> None:  # noqa: F811
    cspbill(config_file, "payments", "import", str(files / "nov.xml"), "--as", "finn")
    out = tmp_path / "northwind.pdf"
    written = cspbill(config_file, "payments", "statement", "--tenant", "nl-bv", "--customer", "Contoso Zorg B.V.",
                      "--out", str(out), "--as", "finn").stdout
    assert f"{out}: statement of account" in written and out.read_bytes().startswith(b"%PDF")
    days = as_json(config_file, "payments", "days-to-pay", "--as", "finn")
    assert days == [{"tenant": "nl-bv", "month": "2026-11", "payments": 1, "average_days": 7.0}]
    assert "on average 7.0 days after the invoice" in cspbill(config_file, "payments", "days-to-pay", "--as",
                                                              "finn").stdout
    unknown = cspbill(config_file, "payments", "statement", "--tenant", "nl-bv", "--customer", "Nobody", "--as",
                      "finn", ok=False)
    assert unknown.returncode != 0 and "customer 'Nobody': no customer has that id, reference or name" in (
        unknown.stderr.replace("\n", ""))
    off = cspbill(config_file, "payments", "remind", "--as", "finn", ok=False)
    assert "payments.reminders.enabled is false" in off.stderr.replace("\n", "")
    assert as_json(config_file, "payments", "reminders", "--as", "finn") == []
    desk = cspbill(config_file, "payments", "export", "--tenant", "nl-bv", "--as", "dana", ok=False)
    assert "lacks role" in desk.stderr
